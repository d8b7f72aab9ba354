const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/service-hours/index')
beforeEach(() => loggedIn())

test('shows total and entries', async () => {
  mockServer({ 'GET /me/service-hours': () => ({ total_hours: 12.5, items: [{ id: 1, activity_title: '助老服务', hours: 2, at: '2024-05-01T04:00:00Z' }] }) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('12.5')
  expect(pageText(page)).toContain('助老服务')
  expect(pageText(page)).toContain('+2 小时')
})

test('error state', async () => {
  mockServer({ 'GET /me/service-hours': () => 'network' })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
})
