const { mockServer, refusal, loggedIn } = require('../helpers')
const drafts = require('../../src/services/drafts')
const { NetworkError, ApiError } = require('../../src/services/request')

function fillDraft() {
  const d = drafts.getCurrentDraft()
  drafts.updateDraft(d.localId, {
    category_id: 3,
    description: '楼道里私拉电线给电动车充电',
    lat: 34.7,
    lng: 113.6,
    address: '经三路 12 号',
    photos: [{ path: 'wxfile://p1.jpg', uploadId: null }, { path: 'wxfile://p2.jpg', uploadId: null }],
  })
  return d.localId
}

beforeEach(() => loggedIn())

test('a draft is persisted on every change and survives a restart (storage only)', () => {
  const d = drafts.getCurrentDraft()
  drafts.updateDraft(d.localId, { description: '路灯坏了' })
  const stored = wx.getStorageSync(drafts.STORE_KEY)
  expect(stored.drafts[d.localId].description).toBe('路灯坏了')
  expect(stored.currentId).toBe(d.localId)
  // a fresh "app" reads the same draft back, same key
  const again = drafts.getCurrentDraft()
  expect(again.localId).toBe(d.localId)
  expect(again.idempotencyKey).toBe(d.idempotencyKey)
  expect(again.description).toBe('路灯坏了')
})

test('submits photos first, then the report with the draft key; the draft is gone after', async () => {
  const localId = fillDraft()
  const { idempotencyKey } = drafts.getDraft(localId)
  let n = 0
  const server = mockServer({
    'POST /uploads': () => ({ id: `up-${++n}` }),
    'POST /reports': () => ({ id: 99, status: 'submitted', duplicates: [] }),
  })
  const report = await drafts.submitDraft(localId)
  expect(report.id).toBe(99)
  const post = server.callsTo('POST /reports')[0]
  expect(post.header['Idempotency-Key']).toBe(idempotencyKey)
  expect(post.data).toEqual({
    category_id: 3,
    description: '楼道里私拉电线给电动车充电',
    lat: 34.7,
    lng: 113.6,
    address: '经三路 12 号',
    photo_ids: ['up-1', 'up-2'],
    self_handled: false,
    anonymous: false,
  })
  expect(drafts.getDraft(localId)).toBeNull()
  expect(drafts.listPending()).toHaveLength(0)
})

test('a lost network keeps the draft queued; retry does not re-upload photos and reuses the key', async () => {
  const localId = fillDraft()
  const { idempotencyKey } = drafts.getDraft(localId)
  let n = 0
  let online = false
  const server = mockServer({
    'POST /uploads': () => ({ id: `up-${++n}` }),
    'POST /reports': () => (online ? { id: 100 } : 'network'),
  })
  await expect(drafts.submitDraft(localId)).rejects.toBeInstanceOf(NetworkError)
  const queued = drafts.listPending()
  expect(queued.map((d) => d.localId)).toEqual([localId])
  expect(queued[0].photos.map((p) => p.uploadId)).toEqual(['up-1', 'up-2'])
  // the user can start a new report meanwhile
  expect(drafts.getCurrentDraft().localId).not.toBe(localId)

  online = true
  const res = await drafts.flushPending()
  expect(res.submitted.map((r) => r.id)).toEqual([100])
  expect(server.callsTo('POST /uploads')).toHaveLength(2) // not re-uploaded
  const posts = server.callsTo('POST /reports')
  expect(posts).toHaveLength(2)
  expect(posts.map((p) => p.header['Idempotency-Key'])).toEqual([idempotencyKey, idempotencyKey])
  expect(drafts.listPending()).toHaveLength(0)
})

test('concurrent submits and flushes of one draft make a single POST', async () => {
  const localId = fillDraft()
  const server = mockServer({
    'POST /uploads': () => ({ id: 'u' }),
    'POST /reports': () => ({ id: 101 }),
  })
  const results = await Promise.all([drafts.submitDraft(localId), drafts.submitDraft(localId), drafts.flushPending()])
  expect(results[0]).toEqual({ id: 101 })
  expect(results[1]).toBe(results[0])
  expect(server.callsTo('POST /reports')).toHaveLength(1)
})

test('a server refusal returns the draft to editing with the message, not to the queue', async () => {
  const localId = fillDraft()
  mockServer({
    'POST /uploads': () => ({ id: 'u' }),
    'POST /reports': () => refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422),
  })
  const err = await drafts.submitDraft(localId).catch((e) => e)
  expect(err).toBeInstanceOf(ApiError)
  expect(drafts.listPending()).toHaveLength(0)
  const current = drafts.getCurrentDraft()
  expect(current.localId).toBe(localId)
  expect(current.lastError).toBe('描述包含不适宜内容，请修改后再提交')
})

test('the queue is retried when the network comes back', async () => {
  const localId = fillDraft()
  let online = false
  const server = mockServer({
    'POST /uploads': () => ({ id: 'u' }),
    'POST /reports': () => (online ? { id: 102 } : 'network'),
  })
  await drafts.submitDraft(localId).catch(() => {})
  drafts.startAutoFlush()
  expect(wx.onNetworkStatusChange).toHaveBeenCalledTimes(1)
  const listener = wx.onNetworkStatusChange.mock.calls[0][0]
  online = true
  listener({ isConnected: true, networkType: '4g' })
  await new Promise((r) => setTimeout(r, 30))
  expect(server.callsTo('POST /reports')).toHaveLength(2)
  expect(drafts.listPending()).toHaveLength(0)
})
