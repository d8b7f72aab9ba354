const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/profile/cancel/index')

async function open() {
  const page = render(id)
  page.instance.onLoad()
  await flush()
  return page
}

const tapAgree = (page) => page.querySelector('.agree').dispatchEvent('tap')
const tapSubmit = (page) => page.querySelector('.submit').dispatchEvent('tap')

/** reLaunch's completion shows the toast (on the new page): run it as WeChat would. */
function relaunched() {
  expect(wx.reLaunch).toHaveBeenCalledTimes(1)
  const opts = wx.reLaunch.mock.calls[0][0]
  expect(opts.url).toBe('/pages/home/index')
  opts.complete()
  return wx.showToast.mock.calls.map((c) => c[0].title)
}

test('says plainly what happens; the button waits for the tick and a confirm dialog', async () => {
  loggedIn()
  const server = mockServer({ 'POST /me/cancel': () => ({ status: 204, body: '' }) })
  const page = await open()
  const t = pageText(page)
  for (const words of ['积分清零', '兑换券作废', '退回库存', '活动自动取消', '匿名保留']) expect(t).toContain(words)
  tapSubmit(page) // not ticked: nothing
  await flush()
  expect(wx.showModal).not.toHaveBeenCalled()
  expect(server.calls).toHaveLength(0)

  wx.showModal = jest.fn((o) => o.success({ confirm: false })) // 再想想
  tapAgree(page)
  await flush()
  tapSubmit(page)
  await flush()
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  expect(server.calls).toHaveLength(0)
})

test('success: one request with the confirmation word, login state cleared, 首页 with a toast', async () => {
  loggedIn({ id: 7, role: 'rider', display_name: '王师傅' })
  const server = mockServer({ 'POST /me/cancel': () => ({ status: 204, body: '' }) })
  const page = await open()
  tapAgree(page)
  await flush()
  // a double tap
  page.instance.onSubmit()
  page.instance.onSubmit()
  await flush()
  const calls = server.callsTo('POST /me/cancel')
  expect(calls).toHaveLength(1)
  expect(calls[0].data).toEqual({ confirm: '注销' })
  expect(calls[0].header.Authorization).toBe('Bearer tok-1')
  expect(wx.getStorageSync('fengchao.token')).toBe('')
  expect(wx.getStorageSync('fengchao.user')).toBe('')
  expect(relaunched()).toContain('账号已注销')
})

test('a network failure keeps the page; the retry meeting the revoked token (401) counts as done, without logging in again', async () => {
  loggedIn()
  let answer = 'network'
  const server = mockServer({
    'POST /me/cancel': () => answer,
    'POST /auth/wechat-login': () => ({ token: 'tok-new', user: { id: 99 } }),
  })
  const page = await open()
  tapAgree(page)
  await flush()
  tapSubmit(page)
  await flush()
  expect(wx.reLaunch).not.toHaveBeenCalled()
  expect(page.data.submitting).toBe(false)
  expect(pageText(page)).toContain('网络不稳定')
  expect(wx.getStorageSync('fengchao.token')).toBe('tok-1') // nothing forgotten yet

  answer = refusal('auth.token_revoked', '登录已失效，请重新登录', 401)
  tapSubmit(page)
  await flush()
  expect(server.callsTo('POST /me/cancel')).toHaveLength(2)
  expect(server.callsTo('POST /auth/wechat-login')).toHaveLength(0) // no new account made and cancelled
  expect(wx.getStorageSync('fengchao.token')).toBe('')
  expect(relaunched()).toContain('账号已注销')
})

test('staff refused (409): the server message shows, nothing is cleared, the page stays', async () => {
  loggedIn({ id: 3, role: 'grid_worker' })
  mockServer({
    'POST /me/cancel': () => refusal('account.staff_bound', '您当前绑定了工作人员身份，请先由上级工作人员解除绑定，再注销账号', 409),
  })
  const page = await open()
  tapAgree(page)
  await flush()
  tapSubmit(page)
  await flush()
  expect(pageText(page)).toContain('请先由上级工作人员解除绑定')
  expect(wx.getStorageSync('fengchao.token')).toBe('tok-1')
  expect(wx.reLaunch).not.toHaveBeenCalled()
  expect(page.data.submitting).toBe(false)
})

test('a 401 with no earlier lost attempt is an expired login, not a cancellation', async () => {
  loggedIn()
  mockServer({ 'POST /me/cancel': () => refusal('auth.token_expired', '登录已过期，请重新登录', 401) })
  const page = await open()
  tapAgree(page)
  await flush()
  tapSubmit(page)
  await flush()
  expect(wx.reLaunch).not.toHaveBeenCalled()
  expect(pageText(page)).toContain('登录已失效')
  expect(wx.getStorageSync('fengchao.token')).toBe('')
})
