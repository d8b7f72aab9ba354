const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/list/index')
beforeEach(() => loggedIn())

test('lists activities; tap opens detail', async () => {
  mockServer({ 'GET /activities': () => ({ items: [{ id: 4, title: '红骑手公益课堂：交通安全', kind: 'public_class', kind_name: '公益课堂', place: '淮北街社区党群服务中心', starts_at: '2024-05-10T14:00:00+08:00', points: 10, status: 'published', capacity: 30, enrolled_count: 3 }], total: 1 }) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('红骑手公益课堂')
  expect(pageText(page)).toContain('2024-05-10 14:00')
  expect(pageText(page)).toContain('淮北街社区党群服务中心')
  page.querySelector('.activity').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/activities/detail/index?id=4' })
})

test('error state', async () => {
  mockServer({ 'GET /activities': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('服务繁忙，请稍后再试')
})
