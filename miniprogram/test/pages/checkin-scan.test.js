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

const retryButton = (page) => page.querySelector('.refusal >>> .error-retry')

test.each([
  ['checkin.invalid_scene', '该二维码无效或已更换，请扫描驿站现场张贴的最新二维码'],
  ['checkin.station_inactive', '经三路小哥驿站已停用，暂不能打卡'],
])('%s: 重新扫码 opens the scanner instead of sending the same scene again', async (code, message) => {
  const server = mockServer({ 'POST /checkins': (req) => (req.data.scene === 's1z.OLDCODE12345678' ? refusal(code, message, 400) : OK) })
  wx.scanCode = jest.fn((o) => o.success({ path: 'packages/checkin/scan/index?scene=s1z.NEWCODE12345678', result: '' }))
  const page = render(scanId)
  await page.instance.onLoad({ scene: encodeURIComponent('s1z.OLDCODE12345678') })
  await flush()
  expect(pageText(page)).toContain(message)
  expect(retryButton(page).dom.textContent.trim()).toBe('重新扫码')
  retryButton(page).dispatchEvent('tap')
  await flush(20)
  expect(wx.scanCode).toHaveBeenCalledTimes(1)
  expect(server.callsTo('POST /checkins').map((c) => c.data.scene)).toEqual(['s1z.OLDCODE12345678', 's1z.NEWCODE12345678'])
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
})

test('a scanned code that is not a station code: 重新扫码 opens the scanner again', async () => {
  wx.scanCode = jest.fn((o) => o.success({ result: '', path: '' }))
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  await page.instance.onLoad({})
  await page.instance.onScan()
  await flush()
  expect(pageText(page)).toContain('没有识别到驿站码')
  expect(retryButton(page).dom.textContent.trim()).toBe('重新扫码')
  retryButton(page).dispatchEvent('tap')
  await flush(20)
  expect(wx.scanCode).toHaveBeenCalledTimes(2)
  expect(server.calls).toHaveLength(0)
})

test.each([
  ['checkin.out_of_range', '您距离驿站约 850 米，请到站后再扫码'],
  ['checkin.poor_accuracy', '定位精度不足（约 180 米），请到开阔处、打开 GPS 后重新扫码'],
  ['checkin.impossible_travel', '距上次打卡仅 3 分钟却相距 12.0 公里，位置异常，请稍后在驿站现场重新扫码'],
])('%s: 重新打卡 sends the same scene again, without the scanner', async (code, message) => {
  const server = mockServer({ 'POST /checkins': () => refusal(code, message, 400) })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
  await flush()
  expect(retryButton(page).dom.textContent.trim()).toBe('重新打卡')
  retryButton(page).dispatchEvent('tap')
  await flush(20)
  expect(wx.scanCode).not.toHaveBeenCalled()
  expect(server.callsTo('POST /checkins').map((c) => c.data.scene)).toEqual(['s1z.ABCDEFGH12345678', 's1z.ABCDEFGH12345678'])
})

test('network failure, then a GPS timeout on the retry: the key is kept, and the GPS failure is not called a permission refusal', async () => {
  let online = false
  const server = mockServer({ 'POST /checkins': () => (online ? OK : 'network') })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
  await flush()
  const okLocation = wx.getLocation
  wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail timeout' }))
  await page.instance.onRetry()
  expect(pageText(page)).toContain('定位失败，请到开阔处并打开手机定位后重试')
  expect(pageText(page)).not.toContain('请在设置中允许')
  expect(retryButton(page).dom.textContent.trim()).toBe('重新打卡')
  wx.getLocation = okLocation
  online = true
  await page.instance.onRetry()
  const keys = server.callsTo('POST /checkins').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[1]).toBe(keys[0])
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
})

test('a 5xx answer is not a decision: the retry sends the same scene with the same key', async () => {
  let down = true
  const server = mockServer({ 'POST /checkins': () => (down ? { status: 502, body: '<html>Bad Gateway</html>' } : OK) })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
  await flush()
  expect(pageText(page)).toContain('服务暂时不可用')
  expect(retryButton(page).dom.textContent.trim()).toBe('重新打卡')
  down = false
  await page.instance.onRetry()
  const keys = server.callsTo('POST /checkins').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[1]).toBe(keys[0])
})

test('location permission refused: the retry opens the settings, then checks in once it is allowed', async () => {
  wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail auth deny' }))
  let allow = false
  wx.openSetting = jest.fn((o) => o.success({ authSetting: { 'scope.userLocation': allow } }))
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  await page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
  await flush()
  expect(pageText(page)).toContain('请在设置中允许蜂巢使用位置信息')
  expect(retryButton(page).dom.textContent.trim()).toBe('去设置开启定位')
  await page.instance.onRetry() // settings closed without allowing: nothing is sent
  expect(wx.openSetting).toHaveBeenCalledTimes(1)
  expect(wx.getLocation).toHaveBeenCalledTimes(1)
  expect(server.calls).toHaveLength(0)
  allow = true
  wx.getLocation = jest.fn((o) => o.success({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 }))
  await page.instance.onRetry()
  expect(wx.openSetting).toHaveBeenCalledTimes(2)
  expect(server.callsTo('POST /checkins')[0].data.scene).toBe('s1z.ABCDEFGH12345678')
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
})

test('no location answer at all: after 10 s 定位失败 with 重新打卡, and the retry keeps the scanned scene', async () => {
  wx.getLocation = jest.fn() // never calls back (indoors, location half-off)
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  jest.useFakeTimers()
  let loading
  try {
    loading = page.instance.onLoad({ scene: 'ST-009' })
    expect(page.data.busy).toBe(true)
    expect(pageText(page)).toContain('正在定位…')
    jest.advanceTimersByTime(10000)
    await loading
  } finally {
    jest.useRealTimers()
  }
  expect(wx.getLocation.mock.calls[0][0]).toMatchObject({ isHighAccuracy: true, highAccuracyExpireTime: 3000 })
  expect(page.data.busy).toBe(false)
  expect(page.data.errorCode).toBe('client.location_failed')
  expect(pageText(page)).toContain('定位失败，请到开阔处并打开手机定位后重试')
  expect(page.data.retryText).toBe('重新打卡')
  expect(server.callsTo('POST /checkins')).toHaveLength(0)
  wx.getLocation = jest.fn((o) => o.success({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 }))
  await page.instance.onRetry()
  expect(server.callsTo('POST /checkins')[0].data.scene).toBe('ST-009')
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
})

test('a late location answer after the time limit is ignored', async () => {
  let late
  wx.getLocation = jest.fn((o) => {
    late = o
  })
  const server = mockServer({ 'POST /checkins': () => OK })
  const page = render(scanId)
  jest.useFakeTimers()
  try {
    const loading = page.instance.onLoad({ scene: 'ST-009' })
    jest.advanceTimersByTime(10000)
    await loading
  } finally {
    jest.useRealTimers()
  }
  late.success({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 })
  await flush()
  expect(server.callsTo('POST /checkins')).toHaveLength(0)
  expect(page.data.errorCode).toBe('client.location_failed')
})

describe('429: the retry waits out the server\'s Retry-After', () => {
  const LIMITED = '打卡太频繁了，请一分钟后再试'
  const limited = (retryAfter, code = 'checkin.rate_limited', message = LIMITED) => ({
    status: 429,
    header: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
    body: { code, message, status: 429, details: { limit_per_minute: 6 } },
  })
  // Under fake timers the mocked server answers on a fake setTimeout(0): run those (and the
  // promise chains between them) without moving the clock.
  const settle = async () => {
    for (let i = 0; i < 20; i += 1) await jest.advanceTimersByTimeAsync(0)
  }
  const waitButton = (page) => page.querySelector('.refusal >>> .error-retry-disabled')
  const label = (page) => retryButton(page).dom.textContent.trim()
  const openRefused = async (routes) => {
    const server = mockServer(routes)
    const page = render(scanId)
    const loading = page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
    await settle()
    await loading
    return { server, page }
  }

  beforeEach(() => jest.useFakeTimers())
  afterEach(() => jest.useRealTimers())

  test('Retry-After 30: a disabled countdown that a tap cannot get past, then 重新打卡 sends the same scene with a new key', async () => {
    let answer = limited('30')
    const { server, page } = await openRefused({ 'POST /checkins': () => answer })
    expect(pageText(page)).toContain(LIMITED)
    expect(page.data.errorCode).toBe('checkin.rate_limited')
    // the page's own button, disabled (the simulator does not render the attribute: check the data)
    expect(label(page)).toBe('重新打卡（30 秒）')
    expect(page.data.waitSeconds).toBe(30)
    expect(jest.getTimerCount()).toBe(1)

    waitButton(page).dispatchEvent('tap') // a disabled button may still deliver the tap
    await settle()
    page.instance.onRetry()
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(1)

    await jest.advanceTimersByTimeAsync(1000)
    expect(label(page)).toBe('重新打卡（29 秒）')
    await jest.advanceTimersByTimeAsync(28999)
    expect(label(page)).toBe('重新打卡（1 秒）')
    page.instance.onRetry()
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(1)

    await jest.advanceTimersByTimeAsync(1) // 30 s after the refusal
    expect(waitButton(page)).toBeUndefined()
    expect(label(page)).toBe('重新打卡')
    expect(page.data.waitSeconds).toBe(0)
    expect(jest.getTimerCount()).toBe(0)

    answer = OK
    retryButton(page).dispatchEvent('tap')
    await settle()
    const posts = server.callsTo('POST /checkins')
    expect(posts.map((c) => c.data.scene)).toEqual(['s1z.ABCDEFGH12345678', 's1z.ABCDEFGH12345678'])
    // a 429 is the server's decision: the next attempt is a new check-in with a new key
    expect(posts[1].header['Idempotency-Key']).toBeTruthy()
    expect(posts[1].header['Idempotency-Key']).not.toBe(posts[0].header['Idempotency-Key'])
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
  })

  test('no Retry-After: 60 s; refused again after it: a new countdown on one timer', async () => {
    let answer = limited(undefined)
    const { server, page } = await openRefused({ 'POST /checkins': () => answer })
    expect(label(page)).toBe('重新打卡（60 秒）')
    await jest.advanceTimersByTimeAsync(59999)
    expect(label(page)).toBe('重新打卡（1 秒）')
    page.instance.onRetry()
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(1)
    await jest.advanceTimersByTimeAsync(1)
    expect(label(page)).toBe('重新打卡')

    answer = limited('12')
    retryButton(page).dispatchEvent('tap')
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(2)
    expect(label(page)).toBe('重新打卡（12 秒）')
    expect(jest.getTimerCount()).toBe(1)
  })

  test('any 429 counts down, capped at 10 minutes; its own button (重新扫码) after it', async () => {
    wx.scanCode = jest.fn((o) => o.success({ path: 'packages/checkin/scan/index?scene=s1z.NEWCODE12345678', result: '' }))
    const { server, page } = await openRefused({
      'POST /checkins': () => limited('86400', 'rate_limited', '操作太频繁，请稍后再试'),
    })
    expect(pageText(page)).toContain('操作太频繁，请稍后再试')
    expect(label(page)).toBe('重新扫码（600 秒）')
    waitButton(page).dispatchEvent('tap')
    await settle()
    expect(wx.scanCode).not.toHaveBeenCalled()
    await jest.advanceTimersByTimeAsync(599000)
    expect(label(page)).toBe('重新扫码（1 秒）')
    await jest.advanceTimersByTimeAsync(1000)
    expect(label(page)).toBe('重新扫码')
    expect(server.callsTo('POST /checkins')).toHaveLength(1)
  })

  test('leaving the page during the countdown clears its timer: nothing is set afterwards', async () => {
    const { page } = await openRefused({ 'POST /checkins': () => limited('30') })
    expect(label(page)).toBe('重新打卡（30 秒）')
    expect(jest.getTimerCount()).toBe(1)
    const setData = jest.spyOn(page.instance, 'setData')
    page.instance.onUnload()
    expect(jest.getTimerCount()).toBe(0)
    await jest.advanceTimersByTimeAsync(60000)
    expect(setData).not.toHaveBeenCalled()
  })

  test('leaving while the check-in is on its way: the 429 that arrives later starts no timer', async () => {
    mockServer({ 'POST /checkins': () => limited('30') })
    const page = render(scanId)
    const loading = page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
    page.instance.onUnload()
    await settle()
    await loading
    expect(jest.getTimerCount()).toBe(0)
    const setData = jest.spyOn(page.instance, 'setData')
    await jest.advanceTimersByTimeAsync(60000)
    expect(setData).not.toHaveBeenCalled()
  })

  test('hidden and shown again: the countdown counts the real time away, not its ticks', async () => {
    const { server, page } = await openRefused({ 'POST /checkins': () => limited('30') })
    await jest.advanceTimersByTimeAsync(5000)
    expect(label(page)).toBe('重新打卡（25 秒）')
    page.instance.onHide()
    expect(jest.getTimerCount()).toBe(0)
    // in the background no timer runs (WeChat suspends them): only the clock moves on
    jest.setSystemTime(Date.now() + 20000)
    page.instance.onShow()
    expect(label(page)).toBe('重新打卡（5 秒）')
    expect(jest.getTimerCount()).toBe(1)
    page.instance.onRetry()
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(1)
    await jest.advanceTimersByTimeAsync(5000)
    expect(label(page)).toBe('重新打卡')
    expect(jest.getTimerCount()).toBe(0)
  })

  test('a 429 that arrives while the page is hidden: the countdown is shown, its timer starts when the page is', async () => {
    mockServer({ 'POST /checkins': () => limited('30') })
    const page = render(scanId)
    const loading = page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
    page.instance.onShow()
    page.instance.onHide() // the rider switched to another app while it was sent
    await settle()
    await loading
    expect(label(page)).toBe('重新打卡（30 秒）')
    expect(jest.getTimerCount()).toBe(0)
    jest.setSystemTime(Date.now() + 8000)
    page.instance.onShow()
    expect(label(page)).toBe('重新打卡（22 秒）')
    expect(jest.getTimerCount()).toBe(1)
    await jest.advanceTimersByTimeAsync(22000)
    expect(label(page)).toBe('重新打卡')
  })

  test('shown again after the wait is over: 重新打卡 at once, and it sends', async () => {
    let sent = 0
    const { server, page } = await openRefused({ 'POST /checkins': () => ((sent += 1) > 1 ? OK : limited('30')) })
    page.instance.onHide()
    jest.setSystemTime(Date.now() + 10 * 60 * 1000)
    page.instance.onShow()
    expect(label(page)).toBe('重新打卡')
    expect(jest.getTimerCount()).toBe(0)
    retryButton(page).dispatchEvent('tap')
    await settle()
    expect(server.callsTo('POST /checkins')).toHaveLength(2)
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/checkin/result/index' })
  })
})

test('left while the check-in was on its way: no redirect over the page now on top, a toast says it went through', async () => {
  mockServer({ 'POST /checkins': () => ({ ...OK, message: '打卡成功，获得 5 积分' }) })
  const page = render(scanId)
  const loading = page.instance.onLoad({ scene: 's1z.ABCDEFGH12345678' })
  page.instance.onUnload() // the rider tapped back during 正在打卡…
  await loading
  await flush()
  expect(wx.redirectTo).not.toHaveBeenCalled()
  expect(wx.showToast).toHaveBeenCalledWith({ title: '打卡成功，获得 5 积分', icon: 'none' })
  expect(handoff.take('checkin')).toMatchObject({ points_awarded: 5 }) // handed off as before
})
