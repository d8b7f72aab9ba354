const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const redemptionsId = load('packages/points/redemptions/index')

beforeEach(() => loggedIn())

describe('my redemptions', () => {
  const LIST = { items: [{ id: 3, code: 'AB12CD34', status: 'pending', reward: { name: '蓝牙耳机' }, created_at: '2024-05-01T04:00:00Z' }, { id: 2, code: 'XX11', status: 'fulfilled', reward_name: '洗衣液' }], total: 2 }

  test('lists, shows the voucher, cancels a pending one', async () => {
    const server = mockServer({ 'GET /me/redemptions': () => LIST, 'POST /redemptions/:id/cancel': () => ({ id: 3, status: 'cancelled' }) })
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await flush()
    const t = pageText(page)
    expect(t).toContain('待核销')
    expect(t).toContain('已领取')
    page.querySelector('.show').dispatchEvent('tap')
    await flush()
    expect(pageText(page)).toContain('AB12 CD34')
    page.querySelector('.close-voucher').dispatchEvent('tap')
    await flush()
    page.querySelector('.cancel').dispatchEvent('tap')
    await flush(20)
    const cancel = server.callsTo('POST /redemptions/3/cancel')
    expect(cancel).toHaveLength(1)
    expect(cancel[0].header['Idempotency-Key']).toBeTruthy()
    expect(server.callsTo('GET /me/redemptions')).toHaveLength(2)
  })

  test('cancel refused shows the message', async () => {
    mockServer({ 'GET /me/redemptions': () => LIST, 'POST /redemptions/:id/cancel': () => refusal('redemption.not_cancellable', '已核销的兑换不能取消', 409) })
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await page.instance.onCancel({ currentTarget: { dataset: { id: 2 } } })
    expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '已核销的兑换不能取消' }))
  })

  test('empty list shows the empty state', async () => {
    mockServer({ 'GET /me/redemptions': () => ({ items: [], total: 0 }) })
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('还没有兑换记录')
  })
})

describe('cancelling a redemption', () => {
  const PENDING = { id: 3, code: 'AB12CD34', status: 'pending', reward_name: '蓝牙耳机' }
  const tapCancel = { currentTarget: { dataset: { id: 3 } } }
  const cancelKeys = (server) => server.callsTo('POST /redemptions/3/cancel').map((c) => c.header['Idempotency-Key'])

  // The server's cancel: the first key cancels; that key again replays 200; any other key
  // after the cancel is refused (redemption.not_pending).
  const cancelServer = (firstAnswer) => {
    let cancelledBy = null
    let first = true
    const server = mockServer({
      'GET /me/redemptions': () => ({ items: [{ ...PENDING, status: cancelledBy ? 'cancelled' : 'pending' }], total: 1, page: 1, page_size: 20 }),
      'POST /redemptions/:id/cancel': (req) => {
        const key = req.header['Idempotency-Key']
        if (!cancelledBy) cancelledBy = key
        if (key !== cancelledBy) return refusal('redemption.not_pending', '该兑换已取消或过期，积分已退回', 409)
        if (first) {
          first = false
          if (firstAnswer) return firstAnswer // committed, but the rider does not get the answer
        }
        return { ...PENDING, status: 'cancelled' }
      },
    })
    return server
  }

  test.each([
    ['a network failure', 'network'],
    ['a 502', { status: 502, body: '<html>Bad Gateway</html>' }],
  ])('a retry after %s reuses the key, so it is a replay: success, and the list shows 已取消', async (_, firstAnswer) => {
    const server = cancelServer(firstAnswer)
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await flush()
    await page.instance.onCancel(tapCancel)
    await page.instance.onCancel(tapCancel)
    await flush()
    const keys = cancelKeys(server)
    expect(keys).toHaveLength(2)
    expect(keys[1]).toBe(keys[0])
    expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '已取消，积分已退回' }))
    expect(page.data.items[0].statusName).toBe('已取消')
    expect(page.querySelector('.cancel')).toBeUndefined()
  })

  test('a refusal reloads the list so the item shows its current state', async () => {
    let cancelled = false
    const server = mockServer({
      'GET /me/redemptions': () => ({ items: [{ ...PENDING, status: cancelled ? 'expired' : 'pending' }], total: 1 }),
      'POST /redemptions/:id/cancel': () => {
        cancelled = true
        return refusal('redemption.not_pending', '该兑换已取消或过期，积分已退回', 409)
      },
    })
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await flush()
    expect(page.querySelector('.cancel')).toBeTruthy()
    await page.instance.onCancel(tapCancel)
    await flush()
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该兑换已取消或过期，积分已退回' }))
    expect(server.callsTo('GET /me/redemptions')).toHaveLength(2)
    expect(page.data.items[0].statusName).toBe('已过期')
    expect(page.querySelector('.cancel')).toBeUndefined()
  })

  test('a refusal ends that key: the next cancel is a new attempt with a new key', async () => {
    const server = mockServer({
      'GET /me/redemptions': () => ({ items: [PENDING], total: 1 }),
      'POST /redemptions/:id/cancel': () => refusal('redemption.not_cancellable', '已核销的兑换不能取消', 409),
    })
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await page.instance.onCancel(tapCancel)
    await page.instance.onCancel(tapCancel)
    const keys = cancelKeys(server)
    expect(keys).toHaveLength(2)
    expect(keys[1]).not.toBe(keys[0])
  })

  test('a double tap on 取消兑换 asks once and sends one request', async () => {
    const server = cancelServer(null)
    const page = render(redemptionsId)
    await page.instance.onLoad()
    await flush()
    page.querySelector('.cancel').dispatchEvent('tap')
    page.querySelector('.cancel').dispatchEvent('tap')
    await flush(30)
    expect(wx.showModal).toHaveBeenCalledTimes(1)
    expect(server.callsTo('POST /redemptions/3/cancel')).toHaveLength(1)
    expect(wx.showToast.mock.calls.map((c) => c[0].title)).toEqual(['已取消，积分已退回'])
    expect(page.data.cancellingId).toBeNull()
  })
})
