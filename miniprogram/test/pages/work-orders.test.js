const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/staff/work-orders/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

test('mine by default; filter chips change the query; tap opens detail', async () => {
  const server = mockServer({ 'GET /work-orders': () => ({ items: [{ id: 31, state: 'dispatched', state_name: '已派单', report: { id: 9, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: '经三路 12 号', status: 'dispatched' }, clock: { phase: 'accept', due_at: '2024-05-01T14:00:00+08:00', level: 'red', ratio: 1.2 }, allowed_actions: ['accept', 'return'], created_at: '2024-05-01T12:00:00+08:00' }], total: 1 }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(server.callsTo('GET /work-orders')[0].query).toMatchObject({ mine: 'true', page: '1' })
  expect(pageText(page)).toContain('经三路 12 号')
  expect(pageText(page)).toContain('#31') // the number 合并 asks for
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

const order = (oid, state, clock) => ({
  id: oid, state, state_name: { received: '待受理', returned: '退回', dispatched: '已派单', accepted: '已接单', on_hold: '挂起' }[state],
  report: { id: oid, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: `经三路 ${oid} 号`, status: state },
  clock: clock || { phase: 'accept', due_at: null, level: 'green', ratio: 0.1 },
  allowed_actions: [], created_at: '2024-05-01T12:00:00+08:00',
})

/** The server's list: `state` repeated is any of those states (reports.staff.filtered_orders);
 * `urls` are the requests' URLs as sent (the helpers' `query` keeps one value per name). */
function listServer(all) {
  const urls = []
  const server = mockServer({
    'GET /work-orders': () => {
      const wanted = new URLSearchParams(urls[urls.length - 1].split('?')[1] || '').getAll('state')
      const items = all.filter((o) => !wanted.length || wanted.includes(o.state))
      return { items, total: items.length, page: 1, page_size: 20 }
    },
  })
  const send = wx.request
  wx.request = jest.fn((opts) => {
    urls.push(opts.url)
    return send(opts)
  })
  return { server, urls }
}

test('opened from 我的 as 待派单 (?filter=received): received orders and those returned (退回) to be dispatched again', async () => {
  loggedIn({ id: 5, role: 'community_admin' })
  const { urls } = listServer([order(42, 'dispatched'), order(41, 'returned'), order(40, 'received')])
  const page = render(id)
  page.instance.onLoad({ filter: 'received' })
  await page.instance.onShow()
  await flush()
  expect(urls.filter((u) => u.includes('/work-orders'))).toEqual(['http://api.test/api/v1/work-orders?state=received&state=returned&page=1'])
  expect(pageText(page)).toContain('经三路 40 号')
  expect(pageText(page)).toContain('经三路 41 号') // a grid sent it back: 不属于本辖区
  expect(pageText(page)).not.toContain('经三路 42 号')
  expect(page.querySelector('.filter.chip-active').dom.textContent.trim()).toBe('待派单')
})

test('the due time under an order says what is due (the clock\'s phase): 接单, 办结, or the end of a hold', async () => {
  mockServer({
    'GET /work-orders': () => ({
      items: [
        order(31, 'dispatched', { phase: 'accept', due_at: '2024-05-01T14:00:00+08:00', level: 'green', ratio: 0.2 }),
        order(32, 'accepted', { phase: 'resolve', due_at: '2024-05-04T12:00:00+08:00', level: 'green', ratio: 0.2 }),
        order(33, 'on_hold', { phase: 'paused', due_at: '2024-05-02T09:00:00+08:00', level: 'none', ratio: null }),
        order(34, 'resolved', { phase: 'stopped', due_at: null, level: 'none', ratio: null }),
      ],
      total: 4,
    }),
  })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(all(page, '.work-order')).toHaveLength(4)
  // the accept deadline (2 h) is not a 办结 deadline (72 h); a resolved order has none
  expect(all(page, '.due').map((n) => n.dom.textContent.trim())).toEqual(['· 限 2024-05-01 14:00 前接单', '· 限 2024-05-04 12:00 前办结', '· 挂起至 2024-05-02 09:00'])
})

test('我的待办 is what is still mine to do; 处理中 is everything taken and not yet resolved', async () => {
  const { urls } = listServer([
    order(51, 'accepted'), order(52, 'on_hold'), order(53, 'resolved'), order(54, 'closed'), order(55, 'in_progress'), order(56, 'dispatched'),
  ])
  const page = render(id)
  await page.instance.onShow()
  await flush()
  const asked = (n) => new URLSearchParams(urls.filter((u) => u.includes('/work-orders'))[n].split('?')[1])
  expect(asked(0).get('mine')).toBe('true')
  expect(asked(0).getAll('state')).toEqual(['dispatched', 'accepted', 'in_progress', 'on_hold'])
  for (const open of [51, 52, 55, 56]) expect(pageText(page)).toContain(`经三路 ${open} 号`)
  for (const done of [53, 54]) expect(pageText(page)).not.toContain(`经三路 ${done} 号`)
  all(page, '.filter')[3].dispatchEvent('tap') // 处理中
  await flush(20)
  expect(asked(1).get('mine')).toBe(null)
  expect(asked(1).getAll('state')).toEqual(['accepted', 'in_progress', 'on_hold'])
  expect(pageText(page)).toContain('经三路 52 号') // on hold is still being handled
  expect(pageText(page)).not.toContain('经三路 56 号')
})
