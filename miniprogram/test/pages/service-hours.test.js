const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/service-hours/index')
beforeEach(() => loggedIn())

test('shows total and entries', async () => {
  mockServer({ 'GET /me/service-hours': () => ({ total_minutes: 750, total_hours: 12.5, activity_count: 1, years: [], items: [{ activity_id: 1, title: '助老服务', kind: 'volunteer', kind_name: '志愿服务', place: '淮北街社区', starts_at: '2024-05-01T12:00:00+08:00', signed_in_at: '2024-05-01T12:00:00+08:00', service_minutes: 120, service_hours: 2 }], total: 1, page: 1, page_size: 20 }) })
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
