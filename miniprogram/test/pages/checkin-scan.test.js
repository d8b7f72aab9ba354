const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')
const handoff = require('../../src/utils/handoff')

const scanId = load('packages/checkin/scan/index')

const OK = {
  checkin: { id: 5, created_at: '2024-05-01T04:00:00Z' },
  points_awarded: 5,
  balance: 109,
  station: { id: 11, name: '经三路小哥驿站', services: ['rest', 'charging'] },
}

beforeEach(() => loggedIn())

test('opened from a station code: decodes options.scene, sends location, goes to the result', async () => {
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  await page.instance.onLoad({ scene: encodeURIComponent('st=ST-001') })
  const post = server.callsTo('POST /checkins')[0]
  expect(post.data).toEqual({ scene: 'st=ST-001', lat: 34.7466, lng: 113.6253, accuracy: 20 })
  expect(post.header['Idempotency-Key']).toBeTruthy()
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
  expect(handoff.take('checkin')).toEqual(OK)
})

test('scan button: wx.scanCode from camera only, scene read from the mini-program code path', async () => {
  wx.scanCode = jest.fn((o) => o.success({ path: 'packages/checkin/scan/index?scene=ST-002', result: '' }))
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  await page.instance.onLoad({})
  expect(pageText(page)).toContain('扫码打卡')
  page.querySelector('.scan').dispatchEvent('tap')
  await flush(20)
  expect(wx.scanCode.mock.calls[0][0].onlyFromCamera).toBe(true)
  expect(server.callsTo('POST /checkins')[0].data.scene).toBe('ST-002')
})

test('out of range: the server message is shown, and a new attempt uses a new key', async () => {
  const server = mockServer({
    'POST /checkins': () => refusal('checkin.out_of_range', '您距离驿站约 850 米，请到站后再扫码', 400, { distance_m: 850 }),
  })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 'ST-001' })
  await flush()
  expect(pageText(page)).toContain('您距离驿站约 850 米，请到站后再扫码')
  expect(page.data.errorCode).toBe('checkin.out_of_range')
  expect(wx.redirectTo).not.toHaveBeenCalled()
  await page.instance.onRetry()
  const keys = server.callsTo('POST /checkins').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[0]).not.toBe(keys[1])
})

test('network failure: retry reuses the same Idempotency-Key', async () => {
  let online = false
  const server = mockServer({ 'POST /checkins': () => (online ? OK : 'network') })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 'ST-001' })
  await flush()
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
  expect(pageText(page)).toContain('重新打卡')
  online = true
  await page.instance.onRetry()
  const keys = server.callsTo('POST /checkins').map((c) => c.header['Idempotency-Key'])
  expect(keys[0]).toBe(keys[1])
  expect(wx.redirectTo).toHaveBeenCalled()
})

test('location refused: a Chinese message, no POST', async () => {
  wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail auth deny' }))
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 'ST-001' })
  await flush()
  expect(pageText(page)).toContain('无法获取位置')
  expect(server.calls).toHaveLength(0)
})
