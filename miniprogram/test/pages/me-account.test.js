const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('pages/me/index')

const USER = { id: 1, role: 'rider', display_name: '王师傅', community_id: null, phone: '138****1234' }

test('the masked phone is shown with 解绑; unbinding asks first and sends one DELETE', async () => {
  loggedIn(USER)
  let phone = '138****1234'
  const server = mockServer({
    'GET /me': () => ({ ...USER, phone }),
    'DELETE /me/phone': () => {
      phone = null
      return { status: 204, body: '' }
    },
  })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('138****1234')

  wx.showModal = jest.fn((o) => o.success({ confirm: false }))
  page.querySelector('.unbind-phone').dispatchEvent('tap')
  await flush()
  expect(server.callsTo('DELETE /me/phone')).toHaveLength(0)

  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  page.instance.onUnbindPhone()
  page.instance.onUnbindPhone() // a double tap
  await flush()
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  expect(server.callsTo('DELETE /me/phone')).toHaveLength(1)
  expect(page.querySelector('.unbind-phone')).toBeUndefined()
  expect(pageText(page)).not.toContain('138****1234')
  expect(wx.getStorageSync('fengchao.user').phone).toBeNull()
})

test('no phone: no row; 注销账号 at the bottom opens the cancellation page', async () => {
  loggedIn({ ...USER, phone: null })
  mockServer({ 'GET /me': () => ({ ...USER, phone: null }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(page.querySelector('.phone-row')).toBeUndefined()
  page.querySelector('.cancel-account').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/profile/cancel/index' })
})
