// 工单详情: what the page shows after an action, and after refusals that mean the order moved
// on or out of my hands (409 another state, 403 no longer mine, 404 out of my reach).
const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')
const workOrders = require('../../src/services/workOrders')

const id = load('packages/staff/work-order-detail/index')
const ME = 2
const COLLEAGUE = 3
beforeEach(() => loggedIn({ id: ME, role: 'grid_worker' }))
// A success toast shows at most 7 汉字 (WeChat cuts the rest): longer ones take icon 'none'.
afterEach(() => {
  for (const [opts] of wx.showToast.mock.calls) if (opts.icon === undefined || opts.icon === 'success') expect([...opts.title].length).toBeLessThanOrEqual(7)
})

// server staff.allowed_actions for a grid worker: unit queue (assignee null) -> accept only;
// assigned to me -> handler actions; assigned to someone else -> nothing.
function allowed(state, assignee) {
  if (assignee !== null && assignee !== ME) return []
  if (assignee === null) return state === 'dispatched' ? ['accept'] : []
  return { dispatched: ['accept', 'return'], accepted: ['start', 'resolve', 'return', 'hold'], in_progress: ['resolve', 'hold'] }[state] || []
}
const NAMES = { dispatched: '已派单', accepted: '已接单', in_progress: '处置中', on_hold: '挂起', returned: '退回' }
// The staff timeline carries each event's actor_id (reports.presenters.timeline).
const event = (n, action, actorId) => ({ id: n, action, action_name: workOrders.ACTION_NAMES[action], actor_id: actorId, actor_role_name: '网格员', created_at: '2024-05-01T12:00:00+08:00', photos: [] })
const ORDER = (state, assignee, timeline = []) => ({
  id: 31,
  state,
  state_name: NAMES[state],
  assignee: assignee ? { id: assignee, name: assignee === ME ? '我' : '同事' } : null,
  clock: { level: 'green' },
  allowed_actions: allowed(state, assignee),
  report_detail: { id: 9, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: '经三路 12 号', timeline },
})
const tap = (code) => ({ currentTarget: { dataset: { code } } })
const NOT_FOUND = refusal('work_order.not_found', '找不到该工单，可能不在您的管辖范围内', 404)

test('退回: the page shows the order the POST answered, not a reload that is a 404 for me now', async () => {
  let returned = false
  const server = mockServer({
    'GET /work-orders/:id': () => (returned ? NOT_FOUND : ORDER('accepted', ME)),
    'POST /work-orders/:id/:action': () => {
      returned = true // the order went to the unit above, out of my grid
      return { ...ORDER('returned', null, [event(1, 'return', ME)]), allowed_actions: [] }
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  page.instance.onNote({ detail: { value: '不属于本辖区' } })
  await page.instance.onAction(tap('return'))
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '退回成功' }))
  expect(server.callsTo('GET /work-orders/31')).toHaveLength(1) // the answer is shown, no reload
  expect(page.data.stateName).toBe('退回')
  expect(page.data.actions).toEqual([])
  expect(pageText(page)).not.toContain('找不到该工单')
  expect(wx.navigateBack).not.toHaveBeenCalled()
})

test('a later reload answering 404 goes back to the list with a toast, not to a dead error page', async () => {
  let gone = false
  mockServer({ 'GET /work-orders/:id': () => (gone ? NOT_FOUND : ORDER('accepted', ME)) })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  gone = true // moved to another grid meanwhile
  await page.instance.onRetry()
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该工单已不在您的管辖范围内', icon: 'none' }))
  expect(wx.navigateBack).toHaveBeenCalledTimes(1)
  expect(page.data.error).toBe('')
  // opened from a notification, there is no page to go back to: the list is opened instead
  wx.navigateBack.mock.calls[0][0].fail()
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/packages/staff/work-orders/index' })
})

test('opened on an order out of my reach (a stale notification): the error page, no navigation', async () => {
  mockServer({ 'GET /work-orders/:id': () => NOT_FOUND })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(pageText(page)).toContain('找不到该工单')
  expect(wx.navigateBack).not.toHaveBeenCalled()
})

test('接单 lost on the way out, a colleague takes the order, 重试 gets 409: not 接单已生效', async () => {
  // A unit-queue order (no assignee): any grid worker of the grid may accept it.
  let state = 'dispatched'
  let assignee = null
  let sends = 0
  mockServer({
    'GET /work-orders/:id': () => ORDER(state, assignee),
    'POST /work-orders/:id/:action': () => {
      sends += 1
      if (sends === 1) {
        // my request never reached the server (request:fail); meanwhile the colleague accepts
        state = 'accepted'
        assignee = COLLEAGUE
        return 'network'
      }
      return refusal('work_order.invalid_transition', '工单当前为「已接单」，不能接单', 409)
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await page.instance.onAction(tap('accept'))
  await flush()
  await page.instance.onAction(tap('accept')) // 重试
  await flush()
  const toasts = wx.showToast.mock.calls.map((c) => c[0].title)
  expect(toasts).not.toContain('接单已生效')
  expect(toasts).toContain('工单当前为「已接单」，不能接单')
  expect(page.data.order.assignee.id).toBe(COLLEAGUE)
  expect(page.data.actions).toEqual([])
})

test('a lost 挂起, retried (same key and hold time), refused 409: 已生效 only when the latest 挂起 event is mine', async () => {
  for (const actor of [ME, COLLEAGUE]) {
    let state = 'in_progress'
    let sends = 0
    const server = mockServer({
      'GET /work-orders/:id': () => ORDER(state, ME, state === 'on_hold' ? [event(1, 'accept', ME), event(2, 'hold', actor)] : []),
      'POST /work-orders/:id/:action': () => {
        sends += 1
        if (sends === 1) {
          state = 'on_hold' // held (by `actor`); my answer is lost
          return 'network'
        }
        return refusal('work_order.invalid_transition', '工单当前为「挂起」，不能挂起', 409)
      },
    })
    const page = render(id)
    await page.instance.onLoad({ id: '31' })
    page.instance.onNote({ detail: { value: '等物业配合' } })
    await page.instance.onAction(tap('hold'))
    await flush()
    await page.instance.onAction(tap('hold')) // 重试
    await flush()
    const [first, second] = server.callsTo('POST /work-orders/31/hold')
    expect(second.header['Idempotency-Key']).toBe(first.header['Idempotency-Key'])
    expect(second.data).toEqual(first.data) // the same request: hold_until is not recomputed
    const toasts = wx.showToast.mock.calls.map((c) => c[0].title)
    expect(toasts.includes('挂起已生效')).toBe(actor === ME)
    expect(page.data.stateName).toBe('挂起')
    wx.showToast.mockClear()
  }
})

test('an after-photo that failed to upload is no lost action: the next 409 is not taken for 已生效', async () => {
  let state = 'in_progress'
  let uploads = 0
  mockServer({
    'GET /work-orders/:id': () => ORDER(state, ME, state === 'resolved' ? [event(1, 'resolve', COLLEAGUE)] : []),
    'POST /uploads': () => {
      uploads += 1
      if (uploads === 1) {
        state = 'resolved' // a manager resolved it meanwhile, not me
        return 'network'
      }
      return { status: 201, body: { id: 91, url: 'http://api.test/u/91' } }
    },
    'POST /work-orders/:id/:action': () => refusal('work_order.invalid_transition', '工单当前为「已办结」，不能办结', 409),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  page.instance.onNote({ detail: { value: '已拆除' } })
  page.instance.onPhotosChange({ detail: { photos: [{ path: 'wxfile://usr/a.jpg', uploadId: null }] } })
  await page.instance.onAction(tap('resolve'))
  await flush()
  expect(page.instance.pending.retried).toBeFalsy()
  await page.instance.onAction(tap('resolve'))
  await flush()
  expect(wx.showToast.mock.calls.map((c) => c[0].title)).not.toContain('办结已生效')
  expect(page.data.formError).toBe('工单当前为「已办结」，不能办结')
})

test('403 work_order.not_assignee (reassigned to a colleague meanwhile): the page reloads and stops offering 接单', async () => {
  // Reassign leaves the order `dispatched`: only the assignee changed, so the server answers 403, not 409.
  let assignee = ME
  const server = mockServer({
    'GET /work-orders/:id': () => ORDER('dispatched', assignee),
    'POST /work-orders/:id/:action': () => refusal('work_order.not_assignee', '该工单已派给其他人，您不能操作', 403),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(page.querySelector('.action-accept')).toBeTruthy()
  assignee = COLLEAGUE // a manager reassigned it
  await page.instance.onAction(tap('accept'))
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该工单已派给其他人，您不能操作' }))
  expect(server.callsTo('GET /work-orders/31')).toHaveLength(2)
  expect(page.querySelector('.action-accept')).toBeFalsy()
})

test('404 on an action (moved out of my grid meanwhile): the reload is a 404 too, back with a toast', async () => {
  let moved = false
  mockServer({
    'GET /work-orders/:id': () => (moved ? NOT_FOUND : ORDER('accepted', ME)),
    'POST /work-orders/:id/:action': () => NOT_FOUND,
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  moved = true
  await page.instance.onAction(tap('start'))
  await flush()
  expect(wx.navigateBack).toHaveBeenCalledTimes(1)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该工单已不在您的管辖范围内' }))
  expect(pageText(page)).not.toContain('重试')
})

test('every action\'s success toast fits a success icon (at most 7 汉字)', () => {
  for (const name of Object.values(workOrders.ACTION_NAMES)) {
    expect([...`${name}成功`].length).toBeLessThanOrEqual(7)
    expect([...`${name}已生效`].length).toBeLessThanOrEqual(7)
  }
})

test('挂起 asks when it should go on: the chosen days set hold_until (it was always 24 h)', async () => {
  const server = mockServer({
    'GET /work-orders/:id': () => ORDER('accepted', ME),
    'POST /work-orders/:id/:action': () => ORDER('on_hold', ME, [event(1, 'hold', ME)]),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(pageText(page)).toContain('挂起预计恢复')
  const chips = page.querySelectorAll('.hold-day')
  expect(chips.map((c) => c.dom.textContent.trim())).toEqual(['1 天后', '3 天后', '7 天后', '15 天后', '30 天后'])
  chips[2].dispatchEvent('tap') // 7 天后
  await flush()
  page.instance.onNote({ detail: { value: '等待供电部门' } })
  const before = Date.now()
  await page.instance.onAction(tap('hold'))
  await flush()
  const [sent] = server.callsTo('POST /work-orders/31/hold')
  const days = (Date.parse(sent.data.hold_until) - before) / (24 * 3600 * 1000)
  expect(days).toBeGreaterThan(6.99)
  expect(days).toBeLessThan(7.01)
})
