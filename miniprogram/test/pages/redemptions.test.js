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
