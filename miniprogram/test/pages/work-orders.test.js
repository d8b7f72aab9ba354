const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/staff/work-orders/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

test('mine by default; filter chips change the query; tap opens detail', async () => {
  const server = mockServer({ 'GET /work-orders': () => ({ items: [{ id: 31, state: 'dispatched', state_name: '已派单', report: { id: 9, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: '经三路 12 号', status: 'dispatched' }, clock: { phase: 'accept', due_at: '2024-05-01T14:00:00+08:00', level: 'red', ratio: 1.2 }, allowed_actions: ['accept', 'return'], created_at: '2024-05-01T12:00:00+08:00' }], total: 1 }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(server.callsTo('GET /work-orders')[0].query).toEqual({ mine: 'true', page: '1' })
  expect(pageText(page)).toContain('经三路 12 号')
  expect(pageText(page)).toContain('私拉电线')
  expect(pageText(page)).toContain('已超时')
  all(page, '.filter')[4].dispatchEvent('tap') // 已超时
  await flush(20)
  expect(server.callsTo('GET /work-orders')[1].query).toEqual({ overdue: 'true', page: '1' })
  page.querySelector('.work-order').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/staff/work-order-detail/index?id=31' })
})

test('forbidden shows the server message', async () => {
  mockServer({ 'GET /work-orders': () => refusal('auth.forbidden', '仅网格员可查看工单', 403) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('仅网格员可查看工单')
})

test('opened from 我的 as 待派单 (?filter=received) lists received orders', async () => {
  const server = mockServer({ 'GET /work-orders': () => ({ items: [], total: 0 }) })
  const page = render(id)
  page.instance.onLoad({ filter: 'received' })
  await page.instance.onShow()
  await flush()
  expect(server.callsTo('GET /work-orders')[0].query).toEqual({ state: 'received', page: '1' })
  expect(page.querySelector('.filter.chip-active').dom.textContent.trim()).toBe('待派单')
})
