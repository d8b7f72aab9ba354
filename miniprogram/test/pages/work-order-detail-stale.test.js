// 工单详情: a transition refused because the order moved on (409 work_order.state_changed /
// invalid_transition — e.g. the retry of an 接单 whose answer was lost) leaves the old state and
// the old buttons on screen; the page has no pull-down refresh and does not reload.
const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/work-order-detail/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

const ALLOWED = { dispatched: ['accept', 'return'], accepted: ['start', 'resolve', 'return', 'hold'] }
const NAMES = { dispatched: '已派单', accepted: '已接单' }
const ORDER = (state) => ({
  id: 31,
  state,
  state_name: NAMES[state],
  assignee: { id: 2, name: '我' }, // dispatched to me
  clock: { level: 'green' },
  allowed_actions: ALLOWED[state],
  report_detail: { id: 9, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: '经三路 12 号', timeline: [] },
})
/** A workflow that does not recognise the retry (no Idempotency-Key): a wrong state is a 409. */
function workflow(lose) {
  let state = 'dispatched'
  return {
    'GET /work-orders/:id': () => ORDER(state),
    'POST /work-orders/:id/:action': (req) => {
      if (req.params[1] !== 'accept' || state !== 'dispatched') return refusal('work_order.invalid_transition', `工单当前为「${NAMES[state]}」，不能接单`, 409)
      state = 'accepted'
      if (lose.shift()) return 'network' // committed; the answer is lost on a weak network
      return ORDER(state)
    },
  }
}

test('接单 whose answer was lost, tapped again: the page ends up showing the accepted order', async () => {
  const server = mockServer(workflow([true]))
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'accept' } } })
  await flush()
  expect(pageText(page)).toContain('网络不稳定')
  await page.instance.onAction({ currentTarget: { dataset: { code: 'accept' } } }) // 重试
  await flush()
  // The order IS accepted: the worker should see 已接单 and the 开始处置 button, not the stale
  // 已派单 page with 接单 still offered (and no way to refresh it).
  expect(server.callsTo('GET /work-orders/31').length).toBeGreaterThan(1)
  expect(page.data.stateName).toBe('已接单')
  expect(page.querySelector('.action-start')).toBeTruthy()
  // the reloaded order is accepted with me as its assignee: my lost 接单 went through
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '接单已生效' }))
  expect(page.data.formError).toBe('')
})

test('a double tap on 接单 sends one transition, not a second one that comes back as an error', async () => {
  const server = mockServer(workflow([]))
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  const tap = { currentTarget: { dataset: { code: 'accept' } } }
  await Promise.all([page.instance.onAction(tap), page.instance.onAction(tap)])
  await flush()
  expect(server.callsTo('POST /work-orders/31/accept')).toHaveLength(1)
  expect(page.data.formError).toBe('')
  expect(wx.showToast).not.toHaveBeenCalledWith(expect.objectContaining({ title: '工单当前为「已接单」，不能接单' }))
})
