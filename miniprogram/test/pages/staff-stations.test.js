const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/stations/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

const STATION = { id: 3, org_unit_id: 7, name: '经三路小哥驿站', kind: 'courier', kind_name: '小哥驿站', address: '经三路 12 号', is_active: true }

test('lists the stations in my scope; one opens its poster', async () => {
  const server = mockServer({ 'GET /admin/stations': () => ({ items: [STATION, { ...STATION, id: 4, name: '旧驿站', is_active: false }], total: 2 }) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(server.callsTo('GET /admin/stations')[0].header.Authorization).toBe('Bearer tok-1')
  expect(pageText(page)).toContain('经三路小哥驿站')
  expect(pageText(page)).toContain('小哥驿站')
  expect(pageText(page)).toContain('已停用')
  page.querySelector('.station').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/staff/station-poster/index?id=3' })
})

test('a refusal shows the server message', async () => {
  mockServer({ 'GET /admin/stations': () => refusal('auth.staff_required', '仅限工作人员使用', 403) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('仅限工作人员使用')
})
