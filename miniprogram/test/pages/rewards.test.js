const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const redemptions = require('../../src/services/redemptions')

const rewardsId = load('packages/points/rewards/index')

beforeEach(() => {
  loggedIn()
  redemptions.resetPendingMemory()
})

describe('rewards', () => {
  const REWARDS = { items: [{ id: 5, name: '蓝牙耳机', cost: 60, stock: 3 }, { id: 6, name: '充电宝', cost: 80, stock: 0 }], total: 2, page: 1, page_size: 20 }
  /** The page's server: the catalogue, a balance, and what POST /redemptions answers. */
  const shop = (redeem, balance = 109) =>
    mockServer({ 'GET /rewards': () => REWARDS, 'GET /me/points': () => ({ balance }), 'POST /redemptions': redeem })

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
    const server = shop(() => answer, 10)
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
    const server = shop(() => answer, 109)
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    const tap = { currentTarget: { dataset: { id: 5 } } }
    await page.instance.onRedeem(tap)
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ title: '兑换结果未知' }))
    answer = refusal('internal_error', '服务繁忙，请稍后再试', 500)
    await page.instance.onRedeem(tap)
    answer = { status: 201, body: { id: 3, code: 'AB12CD34', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', balance: 49 } }
    await page.instance.onRedeem(tap)
    const keys = server.callsTo('POST /redemptions').map((c) => c.header['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
    // the replay of the first (still pending) redemption: its voucher, said to be that one
    expect(page.data.voucher).toMatchObject({ code: 'AB12CD34', replayed: true })
    expect(pageText(page)).toContain('没有重复扣分')
  })

  test('a stored key whose first attempt never reached the server: the retry is a fresh 201 and its voucher is shown', async () => {
    let answer = 'network' // the first attempt dies before the server sees it
    const server = shop(() => answer, 109)
    await (await openPage()).instance.onRedeem(tap)
    expect(redemptions.hasPendingRedeem(5)).toBe(true)
    answer = { status: 201, body: { id: 9, code: 'QW34ER56', qr_payload: 'fc-voucher:QW34ER56', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', expires_at: '2024-05-08T12:00:00+08:00', balance: 49 } }
    const page = await openPage()
    wx.showModal.mockClear()
    await page.instance.onRedeem(tap)
    await flush()
    const keys = keysSent(server)
    expect(keys).toHaveLength(2)
    expect(keys[1]).toBe(keys[0]) // the same key: never a second deduction
    // the rider has the voucher to show at the station: code, QR of the server's payload, deadline
    expect(page.data.voucher).toMatchObject({ code: 'QW34ER56', qr: 'fc-voucher:QW34ER56', name: '蓝牙耳机' })
    expect(pageText(page)).toContain('QW34 ER56')
    expect(page.querySelectorAll('.voucher-panel >>> .dark').length).toBeGreaterThan(50)
    expect(pageText(page)).toContain('2024-05-08 12:00')
    expect(page.data.balance).toBe(49)
    // only the confirm question: no dialog sending the rider away from the voucher
    expect(wx.showModal.mock.calls.map((c) => c[0].title)).toEqual(['确认兑换'])
    expect(redemptions.hasPendingRedeem(5)).toBe(false) // settled: the next tap is a new redemption
  })

  const tap = { currentTarget: { dataset: { id: 5 } } }
  const openPage = async () => {
    const page = render(rewardsId)
    await page.instance.onLoad()
    await flush()
    return page
  }
  const keysSent = (server) => server.callsTo('POST /redemptions').map((c) => c.header['Idempotency-Key'])

  test('an unknown outcome keeps the key in storage: leaving and coming back (or a restart) replays it', async () => {
    let answer = 'network'
    const server = shop(() => answer, 109)
    await (await openPage()).instance.onRedeem(tap)
    answer = { status: 504, body: '<html>Gateway Timeout</html>' }
    await (await openPage()).instance.onRedeem(tap) // a new visit of the page
    answer = { status: 201, body: { id: 3, code: 'AB12CD34', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', balance: 49 } }
    const page = await openPage()
    expect(wx.getStorageSync(redemptions.PENDING_KEYS)).not.toEqual({}) // survives in storage
    await page.instance.onRedeem(tap)
    expect(page.data.voucher).toMatchObject({ code: 'AB12CD34', replayed: true })
    const keys = keysSent(server)
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
    // answered: the stored key is gone, the next redemption of the same reward is a new one
    expect(wx.getStorageSync(redemptions.PENDING_KEYS)).toEqual({})
    await (await openPage()).instance.onRedeem(tap)
    expect(keysSent(server)[3]).not.toBe(keys[0])
  })

  test('a 4xx refusal clears the stored key; a stored key older than 24 h is not reused', async () => {
    let answer = 'network'
    const server = shop(() => answer, 10)
    await (await openPage()).instance.onRedeem(tap)
    answer = refusal('points.insufficient', '积分不足，还差 50 分', 400)
    await (await openPage()).instance.onRedeem(tap)
    expect(wx.getStorageSync(redemptions.PENDING_KEYS)).toEqual({})
    answer = 'network'
    await (await openPage()).instance.onRedeem(tap)
    const store = wx.getStorageSync(redemptions.PENDING_KEYS)
    for (const entry of Object.values(store)) entry.at -= redemptions.PENDING_MAX_AGE_MS + 1000
    wx.setStorageSync(redemptions.PENDING_KEYS, store)
    await (await openPage()).instance.onRedeem(tap)
    const keys = keysSent(server)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[1])
    expect(keys[3]).not.toBe(keys[2])
  })

  test('an unknown outcome refreshes the balance and the list and points to 我的兑换', async () => {
    let balance = 109
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance }),
      'POST /redemptions': () => {
        balance = 49 // it went through, but the answer was lost
        return 'network'
      },
    })
    const page = await openPage()
    expect(page.data.balance).toBe(109)
    const before = { points: server.callsTo('GET /me/points').length, rewards: server.callsTo('GET /rewards').length }
    await page.instance.onRedeem(tap)
    await flush()
    expect(server.callsTo('GET /me/points').length).toBe(before.points + 1)
    expect(server.callsTo('GET /rewards').length).toBe(before.rewards + 1)
    expect(page.data.balance).toBe(49)
    const modal = wx.showModal.mock.calls.map((c) => c[0]).find((o) => o.title === '兑换结果未知')
    expect(modal.content).toContain('请到「我的兑换」查看后再试')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/points/redemptions/index' }) // 去查看
    expect(page.data.redeemingId).toBeNull()
  })

  test('a key made before the user was cached is still found after a 401 re-login cached the user', async () => {
    wx.removeStorageSync('fengchao.user') // token but no cached user: the key is filed under ":5"
    let answer = () => refusal('auth.token_expired', '登录已过期', 401)
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /auth/wechat-login': () => ({ token: 'tok-2', user: { id: 42, role: 'rider' } }),
      'POST /redemptions': () => {
        const out = answer()
        answer = () => 'network' // the retry after the re-login times out
        return out
      },
    })
    await (await openPage()).instance.onRedeem(tap)
    expect(wx.getStorageSync('fengchao.user')).toEqual({ id: 42, role: 'rider' })
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ title: '兑换结果未知' }))
    answer = () => ({ status: 201, body: { id: 3, code: 'AB12CD34', status: 'pending', reward_id: 5, balance: 49 } })
    await (await openPage()).instance.onRedeem(tap)
    const keys = keysSent(server)
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1) // the same key: a replay, not a second charge
    expect(wx.getStorageSync(redemptions.PENDING_KEYS)).toEqual({}) // the old slot was settled
    await (await openPage()).instance.onRedeem(tap)
    expect(keysSent(server)[3]).not.toBe(keys[0])
  })

  test('storage full: the key is kept in memory and reused; a success still shows the voucher', async () => {
    const setItem = wx.setStorageSync
    let full = true
    wx.setStorageSync = jest.fn((k, v) => {
      if (full && k === redemptions.PENDING_KEYS) throw new Error('setStorageSync:fail exceed storage max size')
      return setItem(k, v)
    })
    let answer = 'network'
    const server = shop(() => answer, 109)
    await (await openPage()).instance.onRedeem(tap)
    expect(keysSent(server)).toHaveLength(1) // sent although the key could not be stored
    await (await openPage()).instance.onRedeem(tap)
    let keys = keysSent(server)
    expect(keys[1]).toBe(keys[0]) // reused for this app run
    answer = refusal('points.insufficient', '积分不足，还差 50 分', 400)
    await (await openPage()).instance.onRedeem(tap) // settled although storage is full
    // a new redemption; settling after its success fails to write: the voucher is shown anyway
    full = false
    const page = await openPage()
    const routes = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /redemptions': () => {
        full = true // storage fills up before the key is settled
        return { status: 201, body: { id: 4, code: 'ZZ99YY88', status: 'pending', reward_id: 5, balance: 49 } }
      },
    })
    wx.showModal.mockClear()
    await page.instance.onRedeem(tap)
    keys = keysSent(routes)
    expect(keys).toHaveLength(1)
    expect(keys[0]).not.toBe(keysSent(server)[0]) // settled after the refusal: a new key
    expect(page.data.voucher.code).toBe('ZZ99YY88')
    expect(wx.showModal.mock.calls.map((c) => c[0].title)).not.toContain('兑换结果未知')
    // the stored key it could not remove is not reused: the next tap is a new redemption
    await page.instance.onRedeem(tap)
    expect(keysSent(routes)[1]).not.toBe(keys[0])
  })

  test('a tap reusing a stored key gets the earlier redemption: not shown as a new voucher, then settled', async () => {
    let answer = 'network'
    const server = shop(() => answer, 109)
    await (await openPage()).instance.onRedeem(tap)
    // the next tap asks without promising a new item
    wx.showModal.mockClear()
    answer = { status: 201, body: { id: 3, code: 'AB12CD34', status: 'cancelled', reward_id: 5, reward_name: '蓝牙耳机', balance: 109 } }
    const page = await openPage()
    await page.instance.onRedeem(tap)
    const question = wx.showModal.mock.calls[0][0]
    expect(question.content).toContain('再点一次会先确认上次是否成功，不会重复扣分')
    expect(question.content).not.toContain('使用 60 积分兑换')
    expect(page.data.voucher).toBeNull()
    const told = wx.showModal.mock.calls[1][0]
    expect(told.title).toBe('上次的兑换已取消')
    expect(told.content).toContain('「我的兑换」')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/points/redemptions/index' })
    expect(redemptions.hasPendingRedeem(5)).toBe(false)
    answer = { status: 201, body: { id: 4, code: 'ZZ99YY88', status: 'pending', reward_id: 5, balance: 49 } }
    await page.instance.onRedeem(tap)
    const keys = keysSent(server)
    expect(keys[2]).not.toBe(keys[1])
    expect(page.data.voucher.code).toBe('ZZ99YY88')
  })

  test('a double tap on 兑换 asks once and sends one POST', async () => {
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'POST /redemptions': () => ({ status: 201, body: { id: 3, code: 'AB12CD34', status: 'pending', reward_id: 5, reward_name: '蓝牙耳机', balance: 49 } }),
    })
    const answers = []
    wx.showModal = jest.fn((o) => answers.push(o))
    const page = await openPage()
    all(page, '.redeem')[0].dispatchEvent('tap')
    all(page, '.redeem')[0].dispatchEvent('tap')
    await flush()
    expect(answers).toHaveLength(1)
    answers.forEach((o) => o.success({ confirm: true }))
    for (let i = 0; i < 100 && !page.data.voucher; i += 1) await flush(10)
    expect(server.callsTo('POST /redemptions')).toHaveLength(1)
    expect(page.data.voucher.code).toBe('AB12CD34')
  })

  test('subscribe from the voucher tap: template ids from GET /me/subscriptions, accepted ones posted', async () => {
    require('../../src/services/subscribe').reset()
    wx.requestSubscribeMessage = jest.fn((o) => o.success({ TPL_REDEMPTION: 'accept', TPL_REDEMPTION_EXPIRING: 'reject' }))
    const server = mockServer({
      'GET /rewards': () => REWARDS,
      'GET /me/points': () => ({ balance: 109 }),
      'GET /me/subscriptions': () => ({ templates: { redemption_fulfilled: 'TPL_REDEMPTION', redemption_expiring: 'TPL_REDEMPTION_EXPIRING', report_status: 'TPL_REPORT_STATUS' }, credits: [] }),
      'POST /me/subscriptions': () => ({ templates: {}, credits: [{ template_id: 'TPL_REDEMPTION', count: 1 }], ignored: [] }),
    })
    const page = await openPage() // the page prefetches the template ids when it loads
    const asked = page.instance.onSubscribe()
    expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1) // within the tap, nothing awaited first
    await asked
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
