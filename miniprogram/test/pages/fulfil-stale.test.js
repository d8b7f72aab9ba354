// 扫码核销: typing a new code while the 查询 of the previous one is still on its way (weak
// network) must not show the previous voucher (nor its error) under the new code.
const { heldServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/fulfil/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

const VOUCHER = (code, reward) => ({
  id: 3, code, status: 'pending', reward_id: 1, reward_name: reward, cost: 300, user_id: 9,
  expires_at: '2024-05-08T04:00:00Z', fulfilled_at: null, fulfilled_by_id: null,
})
const type = (page, value) => page.querySelector('.code-input').dispatchEvent('input', { detail: { value } })

test('a lookup answering after the code was changed does not show its voucher', async () => {
  const server = heldServer()
  const page = render(id)
  type(page, 'AAAA1111')
  await flush()
  page.querySelector('.lookup').dispatchEvent('tap')
  await flush()
  type(page, 'BBBB2222') // the staff member corrects the code while A is being looked up
  await flush()
  server.answer('/admin/redemptions/AAAA1111', VOUCHER('AAAA1111', '蓝牙耳机'))
  await flush()
  expect(page.data.code).toBe('BBBB2222')
  expect(page.data.voucher).toBeNull()
  expect(pageText(page)).not.toContain('蓝牙耳机')
  expect(page.querySelector('.fulfil')).toBeFalsy()
  // 查询 works for the new code
  expect(page.data.busy).toBe(false)
  page.querySelector('.lookup').dispatchEvent('tap')
  await flush()
  server.answer('/admin/redemptions/BBBB2222', VOUCHER('BBBB2222', '保温杯'))
  await flush()
  expect(pageText(page)).toContain('保温杯')
  expect(page.data.voucher.code).toBe('BBBB2222')
})

test('a lookup failing after the code was changed shows no error for the new code', async () => {
  const server = heldServer()
  const page = render(id)
  type(page, 'AAAA1111')
  await flush()
  page.querySelector('.lookup').dispatchEvent('tap')
  await flush()
  type(page, 'BBBB2222')
  await flush()
  const i = server.held.findIndex((o) => o.url.includes('AAAA1111'))
  server.held.splice(i, 1)[0].success({ statusCode: 404, data: { code: 'redemption.not_found', message: '兑换码不存在', status: 404, details: {} }, header: {} })
  await flush()
  expect(page.data.error).toBe('')
  expect(pageText(page)).not.toContain('兑换码不存在')
})
