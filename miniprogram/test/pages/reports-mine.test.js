const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/reports/mine/index')
beforeEach(() => loggedIn())

test('lists my reports with status; tap opens the detail', async () => {
  mockServer({ 'GET /me/reports': () => ({ items: [{ id: 9, report_no: '24050100009', category: { id: 1, code: 'garbage', name: '垃圾倾倒', icon: 'trash' }, description: '路口堆了建筑垃圾', status: 'in_progress', status_name: '处置中', created_at: '2024-05-01T12:00:00+08:00' }], total: 1 }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('垃圾倾倒')
  expect(pageText(page)).toContain('处置中')
  page.querySelector('.report').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/reports/detail/index?id=9' })
})

test('empty → action to report; error → message', async () => {
  mockServer({ 'GET /me/reports': () => ({ items: [], total: 0 }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('还没有上报过问题')
  mockServer({ 'GET /me/reports': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
  const p2 = render(id)
  await p2.instance.onShow()
  await flush()
  expect(pageText(p2)).toContain('服务繁忙，请稍后再试')
})
