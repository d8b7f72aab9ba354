const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/work-order-detail/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))

test('accept, then resolve with a note and an uploaded photo', async () => {
  let state = 'dispatched'
  const server = mockServer({
    'GET /work-orders/:id': () => ({ id: 31, title: '私拉电线', state, timeline: [{ id: 1, at: '2024-05-01T04:00:00Z', title: '已派单' }] }),
    'POST /work-orders/:id/transitions': (req) => {
      state = { accept: 'accepted', start: 'in_progress', resolve: 'resolved' }[req.data.action]
      return { id: 31, state }
    },
    'POST /uploads': () => ({ id: 'up-9' }),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await flush()
  expect(pageText(page)).toContain('待接单')
  page.querySelector('.action-accept').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /work-orders/31/transitions')[0].data).toEqual({ action: 'accept', note: '', photo_ids: [] })
  expect(pageText(page)).toContain('开始处理')
  await page.instance.onAction({ currentTarget: { dataset: { code: 'start' } } })
  // resolve needs a note
  await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
  await flush()
  expect(pageText(page)).toContain('请填写处理说明')
  page.instance.onNote({ detail: { value: '已拆除' } })
  page.instance.onPhotosChange({ detail: { photos: [{ path: 'wxfile://fix.jpg', uploadId: null }] } })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
  const last = server.callsTo('POST /work-orders/31/transitions').pop()
  expect(last.data).toEqual({ action: 'resolve', note: '已拆除', photo_ids: ['up-9'] })
  expect(last.header['Idempotency-Key']).toBeTruthy()
  expect(page.data.stateName).toBe('已办结')
})

test('a refused transition shows the server message', async () => {
  mockServer({
    'GET /work-orders/:id': () => ({ id: 31, state: 'dispatched', timeline: [] }),
    'POST /work-orders/:id/transitions': () => refusal('workorder.invalid_transition', '工单已被他人接单', 409),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '31' })
  await page.instance.onAction({ currentTarget: { dataset: { code: 'accept' } } })
  await flush()
  expect(pageText(page)).toContain('工单已被他人接单')
})
