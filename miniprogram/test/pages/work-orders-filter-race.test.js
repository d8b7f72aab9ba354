// A grid worker taps 待接单 then 待派单 on a weak network: the answers arrive out of order and
// the list under the 待派单 chip shows the 待接单 orders (utils/list.js has no "latest wins").
const { load, render, flush, pageText, loggedIn, heldServer } = require('../helpers')

const id = load('packages/staff/work-orders/index')
beforeEach(() => loggedIn({ id: 5, role: 'community_admin' }))

const order = (id, state, name) => ({
  id,
  state,
  state_name: name,
  report: { id, category: { id: 2, name: `工单${id}` }, description: '', address: `地址${id}` },
  clock: { level: 'green' },
  created_at: '2024-05-01T12:00:00+08:00',
})

test('switching filters quickly: the list shown matches the chip selected', async () => {
  const server = heldServer()
  const page = render(id)
  const first = page.instance.onShow() // 我的待办
  server.answer('/me/subscriptions', { templates: {}, credits: [] })
  server.answer('mine=true', { items: [], total: 0 })
  await first
  await flush()
  const a = page.instance.onFilter({ currentTarget: { dataset: { key: 'dispatched' } } }) // 待接单 (slow)
  const b = page.instance.onFilter({ currentTarget: { dataset: { key: 'received' } } }) // 待派单
  server.answer('state=received', { items: [order(41, 'received', '待受理')], total: 1 })
  await flush()
  server.answer('state=dispatched', { items: [order(31, 'dispatched', '已派单')], total: 1 })
  await Promise.all([a, b])
  await flush()
  expect(page.data.filter).toBe('received')
  expect(page.data.items.map((w) => w.id)).toEqual([41])
  expect(pageText(page)).not.toContain('地址31')
})
