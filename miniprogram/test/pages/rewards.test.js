const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const rewardsId = load('packages/points/rewards/index')

beforeEach(() => loggedIn())

describe('rewards', () => {
  const REWARDS = { items: [{ id: 5, name: '蓝牙耳机', cost: 60, stock: 3 }, { id: 6, name: '充电宝', cost: 80, stock: 0 }], total: 2, page: 1, page_size: 20 }

  test('redeem: confirm, POST with a key, voucher shown with the code', async () => {
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /redemptions': () => ({ status: 201, body: { id: 3, code: 'AB12CD34', qr_payload: 'fc-voucher:AB12CD34', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', cost: 60, created_at: '2024-05-01T12:00:00+08:00', expires_at: '2024-05-08T12:00:00+08:00', balance: 49 } }),
    })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('蓝牙耳机')
    expect(pageText(page)).toContain('已兑完')
    all(page, '.redeem')[0].dispatchEvent('tap')
    for (let i = 0; i < 100 && !page.data.voucher; i += 1) await flush(10) // slow machines
    await flush()
    expect(wx.showModal).toHaveBeenCalled()
    const post = server.callsTo('POST /redemptions')[0]
    expect(post.data).toEqual({ reward_id: 5 })
    expect(post.header['Idempotency-Key']).toBeTruthy()
    expect(pageText(page)).toContain('AB12 CD34')
    expect(page.querySelectorAll('.voucher-panel >>> .dark').length).toBeGreaterThan(50) // a QR was drawn
    expect(page.data.voucher.qr).toBe('fc-voucher:AB12CD34') // the QR carries the server's payload
    expect(pageText(page)).toContain('2024-05-08 12:00')
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

  test('a 5xx answer keeps the key too: a retry after a 502 is a replay, never a second redemption', async () => {
    let answer = { status: 502, body: '<html>Bad Gateway</html>' }
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /redemptions': () => answer,
    })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    const tap = { currentTarget: { dataset: { id: 5 } } }
    await page.instance.onRedeem(tap)
    expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '服务暂时不可用，请稍后重试' }))
    answer = refusal('internal_error', '服务繁忙，请稍后再试', 500)
    await page.instance.onRedeem(tap)
    answer = { status: 201, body: { id: 3, code: 'AB12CD34', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', balance: 49 } }
    await page.instance.onRedeem(tap)
    const keys = server.callsTo('POST /redemptions').map((c) => c.header['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
    expect(page.data.voucher.code).toBe('AB12CD34')
  })

  test('subscribe from the voucher tap: template ids from GET /me/subscriptions, accepted ones posted', async () => {
    require('../../src/services/subscribe').reset()
    wx.requestSubscribeMessage = jest.fn((o) => o.success({ TPL_REDEMPTION: 'accept', TPL_REDEMPTION_EXPIRING: 'reject' }))
    const server = mockServer({
      'GET /me/subscriptions': () => ({ templates: { redemption_fulfilled: 'TPL_REDEMPTION', redemption_expiring: 'TPL_REDEMPTION_EXPIRING', report_status: 'TPL_REPORT_STATUS' }, credits: [] }),
      'POST /me/subscriptions': () => ({ templates: {}, credits: [{ template_id: 'TPL_REDEMPTION', count: 1 }], ignored: [] }),
    })
    const page = render(rewardsId)
    await page.instance.onSubscribe()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL_REDEMPTION', 'TPL_REDEMPTION_EXPIRING'])
    expect(server.callsTo('POST /me/subscriptions')[0].data).toEqual({ accepted: ['TPL_REDEMPTION'] })
  })

  test('list failure shows the error state', async () => {
    mockServer({ 'GET /rewards': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('服务繁忙，请稍后再试')
  })
})
