// services/me: unbinding the phone and cancelling the account (注销账号).
const me = require('../../src/services/me')
const { ApiError } = require('../../src/services/request')
const { mockServer, refusal, loggedIn } = require('../helpers')

test('unbindPhone sends DELETE /me/phone and drops the phone from the stored user', async () => {
  loggedIn({ id: 1, role: 'rider', phone: '138****1234', display_name: '王师傅' })
  const server = mockServer({ 'DELETE /me/phone': () => ({ status: 204, body: '' }) })
  await me.unbindPhone()
  expect(server.callsTo('DELETE /me/phone')).toHaveLength(1)
  expect(wx.getStorageSync('fengchao.user')).toEqual({ id: 1, role: 'rider', phone: null, display_name: '王师傅' })
})

test('cancelAccount posts the confirmation word and answers null on 204', async () => {
  loggedIn()
  const server = mockServer({ 'POST /me/cancel': () => ({ status: 204, body: '' }) })
  await expect(me.cancelAccount()).resolves.toBeNull()
  expect(server.calls[0]).toMatchObject({ method: 'POST', path: '/me/cancel', data: { confirm: me.CANCEL_CONFIRM_WORD } })
  expect(me.CANCEL_CONFIRM_WORD).toBe('注销')
})

test('cancelAccount does not log in again on 401: a retry must not cancel a brand-new account', async () => {
  loggedIn()
  const server = mockServer({
    'POST /me/cancel': () => refusal('auth.token_revoked', '登录已失效，请重新登录', 401),
    'POST /auth/wechat-login': () => ({ token: 'tok-2', user: { id: 2 } }),
  })
  const err = await me.cancelAccount().catch((e) => e)
  expect(err).toBeInstanceOf(ApiError)
  expect(err.status).toBe(401)
  expect(err.code).toBe('auth.token_revoked')
  expect(server.callsTo('POST /auth/wechat-login')).toHaveLength(0)
  expect(server.callsTo('POST /me/cancel')).toHaveLength(1)
})

test('forgetSession clears the token and the user, as logout does', () => {
  loggedIn()
  me.forgetSession()
  expect(wx.getStorageSync('fengchao.token')).toBe('')
  expect(wx.getStorageSync('fengchao.user')).toBe('')
})
