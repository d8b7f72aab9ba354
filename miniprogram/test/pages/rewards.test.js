const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const rewardsId = load('packages/points/rewards/index')

beforeEach(() => loggedIn())

describe('rewards', () => {
  const REWARDS = { items: [{ id: 5, name: '蓝牙耳机', cost: 60, stock: 3 }, { id: 6, name: '充电宝', cost: 80, stock: 0 }], total: 2, page: 1, page_size: 20 }

  test('redeem: confirm, POST with a key, voucher shown with the code', async () => {
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /redemptions': () => ({ id: 3, code: 'AB12CD34', status: 'pending', balance: 49 }),
    })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('蓝牙耳机')
    expect(pageText(page)).toContain('已兑完')
    all(page, '.redeem')[0].dispatchEvent('tap')
    await flush(20)
    expect(wx.showModal).toHaveBeenCalled()
    const post = server.callsTo('POST /redemptions')[0]
    expect(post.data).toEqual({ reward_id: 5 })
    expect(post.header['Idempotency-Key']).toBeTruthy()
    expect(pageText(page)).toContain('AB12 CD34')
    expect(page.querySelectorAll('.voucher-panel >>> .dark').length).toBeGreaterThan(50) // a QR was drawn
  })

  test('refusal shows the server message; a network retry reuses the key', async () => {
    let answer = 'network'
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 10 }),
      'POST /redemptions': () => answer,
    })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    const tap = { currentTarget: { dataset: { id: 5 } } }
    await page.instance.onRedeem(tap)
    answer = refusal('points.insufficient', '积分不足，还差 50 分', 400)
    await page.instance.onRedeem(tap)
    expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '积分不足，还差 50 分' }))
    const keys = server.callsTo('POST /redemptions').map((c) => c.header['Idempotency-Key'])
    expect(keys[0]).toBe(keys[1])
    answer = { id: 4, code: 'ZZ99', status: 'pending' }
    await page.instance.onRedeem(tap)
    expect(server.callsTo('POST /redemptions')[2].header['Idempotency-Key']).not.toBe(keys[0])
  })

  test('subscribe from the voucher tap posts accepted templates', async () => {
    const config = require('../../src/config')
    config.SUBSCRIBE_TEMPLATES.redemptionReady = 'tmpl-redeem'
    wx.requestSubscribeMessage = jest.fn((o) => o.success({ 'tmpl-redeem': 'accept' }))
    const server = mockServer({ 'POST /me/subscriptions': () => ({ ok: true }) })
    const page = render(rewardsId)
    await page.instance.onSubscribe()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['tmpl-redeem'])
    expect(server.callsTo('POST /me/subscriptions')[0].data).toEqual({ accepted: ['tmpl-redeem'] })
    config.SUBSCRIBE_TEMPLATES.redemptionReady = ''
  })

  test('list failure shows the error state', async () => {
    mockServer({ 'GET /rewards': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('服务繁忙，请稍后再试')
  })
})
