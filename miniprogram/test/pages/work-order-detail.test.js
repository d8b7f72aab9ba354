const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/work-order-detail/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

const ALLOWED = { dispatched: ['accept', 'return'], accepted: ['start', 'resolve', 'return', 'hold'], in_progress: ['resolve', 'hold'], resolved: [] }
const NAMES = { dispatched: '已派单', accepted: '已接单', in_progress: '处置中', resolved: '已办结' }
const ORDER = (state) => ({
  id: 31,
  state,
  state_name: NAMES[state],
  report: { id: 9, category: { id: 2, name: '私拉电线' }, description: '楼道私拉电线', address: '经三路 12 号' },
  clock: { phase: 'accept', due_at: '2024-05-01T14:00:00+08:00', level: 'green' },
  allowed_actions: ALLOWED[state],
  report_detail: {
    id: 9,
    category: { id: 2, name: '私拉电线' },
    description: '楼道私拉电线',
    address: '经三路 12 号',
    lat: 34.75,
    lng: 113.63,
    photos: [{ id: 5, url: 'http://api.test/u/5', thumb_url: 'http://api.test/u/5?t' }],
    timeline: [{ id: 1, action: 'dispatch', action_name: '派单', actor_role_name: '社区工作人员', created_at: '2024-05-01T12:00:00+08:00', photos: [] }],
  },
})

test('accept, then resolve with a note and an uploaded after-photo: POST /work-orders/{id}/{action}', async () => {
  let state = 'dispatched'
  const server = mockServer({
    'GET /work-orders/:id': () => ORDER(state),
    'POST /work-orders/:id/:action': (req) => {
      state = { accept: 'accepted', start: 'in_progress', resolve: 'resolved' }[req.params[1]]
      return ORDER(state)
    },
    'POST /uploads': () => ({ status: 201, body: { id: 91, url: 'http://api.test/u/91', thumb_url: 'http://api.test/u/91?t', width: 8, height: 8, moderation: 'pending' } }),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(pageText(page)).toContain('已派单')
  expect(pageText(page)).toContain('私拉电线')
  expect(pageText(page)).toContain('经三路 12 号')
  expect(pageText(page)).toContain('工单 #31') // the number another order's 合并 asks for
  expect(page.querySelector('.action-accept')).toBeTruthy() // the accept button is shown
  await page.instance.onAction({ currentTarget: { dataset: { code: 'accept' } } })
  await flush()
  expect(server.callsTo('POST /work-orders/31/accept')[0].data).toEqual({ photo_ids: [] })
  expect(pageText(page)).toContain('开始处置')
  await page.instance.onAction({ currentTarget: { dataset: { code: 'start' } } })
  // resolve needs a note, then an after-photo
  await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
  await flush()
  expect(pageText(page)).toContain('请填写处理结果')
  page.instance.onNote({ detail: { value: '已拆除' } })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
  await flush()
  expect(pageText(page)).toContain('办结请至少上传一张处理后的照片')
  expect(server.callsTo('POST /work-orders/31/resolve')).toHaveLength(0)
  page.instance.onPhotosChange({ detail: { photos: [{ path: 'wxfile://fix.jpg', uploadId: null }] } })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
  const last = server.callsTo('POST /work-orders/31/resolve').pop()
  expect(last.data).toEqual({ note: '已拆除', photo_ids: [91] })
  expect(last.header['Idempotency-Key']).toBeTruthy()
  expect(page.data.stateName).toBe('已办结')
  expect(page.data.actions).toEqual([])
})

test('hold sends a hold_until about a day ahead', async () => {
  const server = mockServer({ 'GET /work-orders/:id': () => ORDER('accepted'), 'POST /work-orders/:id/:action': () => ORDER('accepted') })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  page.instance.onNote({ detail: { value: '等物业配合' } })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'hold' } } })
  const body = server.callsTo('POST /work-orders/31/hold')[0].data
  expect(body.note).toBe('等物业配合')
  const hours = (new Date(body.hold_until).getTime() - Date.now()) / 3600000
  expect(hours).toBeGreaterThan(23)
  expect(hours).toBeLessThan(25)
})

test('a refused transition shows the server message', async () => {
  mockServer({
    'GET /work-orders/:id': () => ORDER('dispatched'),
    'POST /work-orders/:id/:action': () => refusal('work_order.invalid_transition', '工单当前为「已接单」，不能接单', 409),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'accept' } } })
  await flush()
  expect(pageText(page)).toContain('工单当前为「已接单」，不能接单')
})

// Dispatch, reassign and merge (community admins and above, when allowed_actions has them).
const ADMIN = { id: 5, role: 'community_admin', staff: { role: 'community_admin', org_unit_id: 7, org_unit_name: '金水社区' } }
const STAFF = {
  items: [
    { id: 1, user_id: 5, role: 'community_admin', org_unit_id: 7, org_unit_name: '金水社区', is_on_duty: true },
    { id: 2, user_id: 11, role: 'grid_worker', org_unit_id: 8, org_unit_name: '第一网格', is_on_duty: false },
    { id: 3, user_id: 12, role: 'grid_worker', org_unit_id: 9, org_unit_name: '第二网格', is_on_duty: true },
  ],
  total: 3,
}
const UNITS = { items: [{ id: 8, name: '第一网格', level: 'grid', parent_id: 7 }, { id: 9, name: '第二网格', level: 'grid', parent_id: 7 }], total: 2 }
const adminOrder = (state, allowed) => ({ ...ORDER(state === 'received' ? 'dispatched' : state), state, state_name: { received: '待受理', dispatched: '已派单', merged: '已合并' }[state], allowed_actions: allowed })

test('grid worker: no dispatch or merge controls', async () => {
  mockServer({ 'GET /work-orders/:id': () => ORDER('dispatched') })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(page.querySelector('.dispatch')).toBeFalsy()
  expect(page.querySelector('.merge')).toBeFalsy()
})

test('admin dispatches to a staff member (on duty first, not myself), or to a grid', async () => {
  loggedIn(ADMIN)
  let state = 'received'
  const server = mockServer({
    'GET /work-orders/:id': () => adminOrder(state, state === 'received' ? ['dispatch', 'reject', 'merge'] : ['reassign', 'merge']),
    'POST /work-orders/:id/:action': () => {
      state = 'dispatched'
      return adminOrder(state, ['reassign', 'merge'])
    },
    'GET /admin/staff': () => STAFF,
    'GET /org-units': () => UNITS,
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(page.querySelector('.action-dispatch')).toBeTruthy()
  expect(page.querySelector('.action-reject')).toBeTruthy()
  expect(server.callsTo('GET /org-units')[0].query.parent_id).toBe('7')
  expect(page.data.staffOptions.map((s) => s.userId)).toEqual([12, 11])
  expect(page.data.staffOptions[0].label).toBe('网格员 · 第二网格 · 在岗 · 编号 12')
  // nothing picked yet
  await page.instance.onDispatch()
  await flush()
  expect(pageText(page)).toContain('请选择派给哪位工作人员')
  expect(server.callsTo('POST /work-orders/31/dispatch')).toHaveLength(0)
  page.instance.onPickStaff({ detail: { value: '0' } })
  await flush()
  expect(pageText(page)).toContain('网格员 · 第二网格 · 在岗 · 编号 12')
  await page.instance.onDispatch()
  await flush()
  const call = server.callsTo('POST /work-orders/31/dispatch')[0]
  expect(call.data).toEqual({ photo_ids: [], assignee_id: 12 })
  expect(call.header['Idempotency-Key']).toBeTruthy()
  expect(page.data.stateName).toBe('已派单')
  expect(page.data.dispatchCode).toBe('reassign')
  expect(page.querySelector('.action-reassign')).toBeTruthy()
  // reassign to a grid: a reason is required
  page.querySelector('.mode-unit').dispatchEvent('tap')
  await flush()
  page.instance.onPickUnit({ detail: { value: '2' } }) // [金水社区（本级）, 第一网格, 第二网格]
  await page.instance.onDispatch()
  await flush()
  expect(pageText(page)).toContain('改派请填写原因')
  page.instance.onNote({ detail: { value: '第一网格人手不足' } })
  await page.instance.onDispatch()
  expect(server.callsTo('POST /work-orders/31/reassign')[0].data).toEqual({ note: '第一网格人手不足', photo_ids: [], unit_id: 9 })
})

test('a refused dispatch shows the server message', async () => {
  loggedIn(ADMIN)
  mockServer({
    'GET /work-orders/:id': () => adminOrder('received', ['dispatch']),
    'POST /work-orders/:id/:action': () => refusal('work_order.assignee_not_found', '找不到该工作人员，或不在您的管辖范围内', 404),
    'GET /admin/staff': () => STAFF,
    'GET /org-units': () => UNITS,
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  page.instance.onPickStaff({ detail: { value: '1' } })
  await page.instance.onDispatch()
  await flush()
  expect(pageText(page)).toContain('找不到该工作人员，或不在您的管辖范围内')
})

test('staff list refused: the picker says why', async () => {
  loggedIn(ADMIN)
  mockServer({
    'GET /work-orders/:id': () => adminOrder('received', ['dispatch']),
    'GET /admin/staff': () => refusal('auth.forbidden', '需要社区工作者及以上权限', 403),
    'GET /org-units': () => UNITS,
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(pageText(page)).toContain('需要社区工作者及以上权限')
  expect(page.data.unitOptions.map((u) => u.id)).toEqual([7, 8, 9])
})

test('merge into another order after a confirm; the server refusal is shown', async () => {
  loggedIn(ADMIN)
  let refuse = true
  const server = mockServer({
    'GET /work-orders/:id': () => (refuse ? adminOrder('received', ['merge']) : adminOrder('merged', [])),
    'POST /work-orders/:id/:action': () => (refuse ? refusal('work_order.merge_target_closed', '目标工单已结束，不能合并到它', 409) : adminOrder('merged', [])),
    'GET /admin/staff': () => STAFF,
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(page.querySelector('.merge-input')).toBeTruthy()
  await page.instance.onMerge()
  await flush()
  expect(pageText(page)).toContain('请输入要合并到的工单编号')
  page.instance.onMergeInput({ detail: { value: '28' } })
  await page.instance.onMerge()
  await flush()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '合并工单' }))
  expect(pageText(page)).toContain('目标工单已结束，不能合并到它')
  refuse = false
  await page.instance.onMerge()
  await flush()
  expect(server.callsTo('POST /work-orders/31/merge').pop().data).toEqual({ photo_ids: [], into_id: 28 })
  expect(page.data.stateName).toBe('已合并')
})

describe('the after-photos saved on the phone are removed once no longer needed', () => {
  const { keepPhoto } = require('../../src/utils/photos')
  const uploadsTo = (state) => ({
    'GET /work-orders/:id': () => ORDER(state.now),
    'POST /work-orders/:id/:action': (req) => {
      if (state.refuse) return refusal('work_order.invalid_transition', '工单状态已变化，请刷新', 409)
      state.now = { resolve: 'resolved', hold: 'accepted' }[req.params[1]] || state.now
      return ORDER(state.now)
    },
    'POST /uploads': () => ({ status: 201, body: { id: 91, url: 'http://api.test/u/91', thumb_url: 'http://api.test/u/91?t', width: 8, height: 8, moderation: 'pending' } }),
  })

  test('sent: the saved copy is deleted; refused: it stays for the next try', async () => {
    const state = { now: 'in_progress', refuse: true }
    mockServer(uploadsTo(state))
    const page = render(id)
    await page.instance.onLoad({ id: '31' })
    await flush()
    const saved = await keepPhoto('wxfile://tmp/fix.jpg')
    const files = wx.getFileSystemManager().__files
    expect(files.has(saved)).toBe(true)
    page.instance.onNote({ detail: { value: '已拆除' } })
    page.instance.onPhotosChange({ detail: { photos: [{ path: saved, uploadId: null }] } })

    await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
    await flush()
    expect(pageText(page)).toContain('工单状态已变化，请刷新')
    expect(files.has(saved)).toBe(true)

    state.refuse = false
    await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
    await flush()
    expect(page.data.stateName).toBe('已办结')
    expect(files.has(saved)).toBe(false)
  })

  test('leaving the page with photos unsent removes them, but not while they are being sent', async () => {
    mockServer(uploadsTo({ now: 'in_progress' }))
    const page = render(id)
    await page.instance.onLoad({ id: '31' })
    await flush()
    const saved = await keepPhoto('wxfile://tmp/fix.jpg')
    const files = wx.getFileSystemManager().__files
    page.instance.onPhotosChange({ detail: { photos: [{ path: saved, uploadId: null }] } })
    page.setData({ busy: true })
    page.instance.onUnload()
    expect(files.has(saved)).toBe(true)
    page.setData({ busy: false })
    page.instance.onUnload()
    expect(files.has(saved)).toBe(false)
  })
})

test('resolve with after-photos, some uploads failing: the retry uploads only the failed ones and sends all of them', async () => {
  let state = 'in_progress'
  const failOnce = new Set(['wxfile://usr/b.jpg'])
  const ids = { 'wxfile://usr/a.jpg': 91, 'wxfile://usr/b.jpg': 92, 'wxfile://usr/c.jpg': 93 }
  const server = mockServer({
    'GET /work-orders/:id': () => ORDER(state),
    'POST /work-orders/:id/:action': () => {
      state = 'resolved'
      return ORDER(state)
    },
    'POST /uploads': (req) => {
      if (failOnce.delete(req.filePath)) return 'network' // a weak network drops this one
      return { status: 201, body: { id: ids[req.filePath], url: `http://api.test/u/${ids[req.filePath]}` } }
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  page.instance.onNote({ detail: { value: '已拆除' } })
  page.instance.onPhotosChange({ detail: { photos: Object.keys(ids).map((path) => ({ path, uploadId: null })) } })
  const resolve = { currentTarget: { dataset: { code: 'resolve' } } }
  await page.instance.onAction(resolve)
  await flush()
  expect(pageText(page)).toContain('网络不稳定')
  expect(server.callsTo('POST /work-orders/31/resolve')).toHaveLength(0)
  await page.instance.onAction(resolve) // 重试
  await flush()
  const uploadsOf = (path) => server.callsTo('POST /uploads').filter((c) => c.filePath === path).length
  expect(uploadsOf('wxfile://usr/a.jpg')).toBe(1) // uploaded before the failure: not sent again
  expect(uploadsOf('wxfile://usr/b.jpg')).toBe(2) // failed, then retried
  expect(uploadsOf('wxfile://usr/c.jpg')).toBe(1)
  const sent = server.callsTo('POST /work-orders/31/resolve')
  expect(sent).toHaveLength(1)
  expect(sent[0].data).toEqual({ note: '已拆除', photo_ids: [91, 92, 93] })
  expect(page.data.stateName).toBe('已办结')
})
