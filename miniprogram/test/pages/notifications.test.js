const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/profile/notifications/index')
beforeEach(() => loggedIn())

test('lists, marks one read on open and navigates; read-all', async () => {
  const server = mockServer({
    'GET /me/notifications': () => ({ items: [{ id: 8, title: '您的上报已办结', body: '请评价', page: 'packages/reports/detail/index?id=9', read_at: null }], total: 1 }),
    'POST /me/notifications/:id/read': () => ({ ok: true }),
    'POST /me/notifications/read-all': () => ({ ok: true }),
  })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('您的上报已办结')
  expect(page.querySelector('.unread')).toBeTruthy()
  page.querySelector('.notification').dispatchEvent('tap')
  await flush(20)
  expect(server.callsTo('POST /me/notifications/8/read')).toHaveLength(1)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/reports/detail/index?id=9' })
  expect(page.querySelector('.unread')).toBeUndefined()
  await page.instance.onReadAll()
  expect(server.callsTo('POST /me/notifications/read-all')).toHaveLength(1)
})

test('error state', async () => {
  mockServer({ 'GET /me/notifications': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('服务繁忙，请稍后再试')
})
