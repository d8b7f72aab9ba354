const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/fulfil/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

test('scan the voucher QR (the server\'s qr_payload) and fulfil it', async () => {
  wx.scanCode = jest.fn((o) => o.success({ result: 'fc-voucher:ab12cd34' }))
  const server = mockServer({ 'POST /redemptions/:code/fulfil': () => ({ id: 3, code: 'AB12CD34', qr_payload: 'fc-voucher:AB12CD34', status: 'fulfilled', reward_id: 1, reward_name: '蓝牙耳机', cost: 300, user_id: 9 }) })
  const page = render(id)
  page.querySelector('.scan').dispatchEvent('tap')
  await flush(30)
  expect(wx.scanCode.mock.calls[0][0].onlyFromCamera).toBe(true)
  const call = server.callsTo('POST /redemptions/AB12CD34/fulfil')
  expect(call).toHaveLength(1)
  expect(call[0].header['Idempotency-Key']).toBeTruthy()
  expect(pageText(page)).toContain('核销成功')
  expect(pageText(page)).toContain('蓝牙耳机')
})

test('already fulfilled: the server message is shown', async () => {
  mockServer({ 'POST /redemptions/:code/fulfil': () => refusal('redemption.already_fulfilled', '该兑换码已核销', 409) })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'xx 99' } })
  await page.instance.onFulfil()
  await flush()
  expect(pageText(page)).toContain('该兑换码已核销')
})
