const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/staff/work-orders/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

test('mine by default; filter chips change the query; tap opens detail', async () => {
  const server = mockServer({ 'GET /work-orders': () => ({ items: [{ id: 31, title: '私拉电线', state: 'dispatched', is_overdue: true, address: '经三路 12 号' }], total: 1 }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(server.callsTo('GET /work-orders')[0].query).toEqual({ mine: '1', page: '1' })
  expect(pageText(page)).toContain('私拉电线')
  expect(pageText(page)).toContain('已超时')
  all(page, '.filter')[3].dispatchEvent('tap')
  await flush(20)
  expect(server.callsTo('GET /work-orders')[1].query).toEqual({ overdue: '1', page: '1' })
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
