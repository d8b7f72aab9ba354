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
