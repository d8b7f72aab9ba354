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
afterEach(() => drafts.stopAutoFlush())

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

test('storage full: drafts live in memory for the run, and a report can still be written and sent', async () => {
  const full = () => {
    throw new Error('setStorageSync:fail exceed storage max size 10Mb')
  }
  wx.setStorageSync = jest.fn(full)
  const localId = fillDraft() // getCurrentDraft + updateDraft: no throw
  expect(drafts.getDraft(localId).description).toBe('楼道里私拉电线给电动车充电')
  const server = mockServer({
    'POST /uploads': () => ({ id: 'u1' }),
    'POST /reports': () => ({ status: 201, body: { report: { id: 9 }, possible_duplicates: [] } }),
  })
  await drafts.submitDraft(localId)
  expect(server.callsTo('POST /reports')).toHaveLength(1)
  expect(drafts.getDraft(localId)).toBeNull() // sent and gone, in memory too
  expect(drafts.getCurrentDraft().description).toBe('') // a fresh one to write the next
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

test('a refusal keeps the draft\'s key, but a key the server holds another report under is replaced', async () => {
  const localId = fillDraft()
  const { idempotencyKey } = drafts.getDraft(localId)
  let answer = refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422)
  const server = mockServer({ 'POST /uploads': () => ({ id: 'u' }), 'POST /reports': () => answer })
  await drafts.submitDraft(localId).catch((e) => e)
  expect(drafts.getDraft(localId).idempotencyKey).toBe(idempotencyKey) // nothing stored under it

  answer = refusal('idempotency.key_reused', '这个请求标识已用于另一次问题反映，内容不一致；请返回刷新后重新提交', 409)
  await drafts.submitDraft(localId).catch((e) => e)
  const returned = drafts.getDraft(localId)
  expect(returned.status).toBe('editing')
  expect(returned.idempotencyKey).not.toBe(idempotencyKey)

  answer = { status: 201, body: { report: { id: 7 }, possible_duplicates: [] } }
  await drafts.submitDraft(localId)
  const keys = server.callsTo('POST /reports').map((c) => c.header['Idempotency-Key'])
  expect(keys).toEqual([idempotencyKey, idempotencyKey, returned.idempotencyKey])
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

describe('automatic resend: only a definite refusal leaves the queue, the current draft is never changed', () => {
  /** A queued draft (sent once while offline) and a new one the rider is typing. */
  async function queuedAndTyping(routes) {
    const queuedId = fillDraft()
    let online = false
    const server = mockServer({ 'POST /uploads': () => ({ id: 'u' }), 'POST /reports': (req) => (online ? routes['POST /reports'](req) : 'network') })
    await drafts.submitDraft(queuedId).catch(() => {})
    online = true
    const typing = drafts.getCurrentDraft()
    drafts.updateDraft(typing.localId, { description: '新的一条：井盖松动' })
    return { queuedId, typingId: typing.localId, server }
  }

  test.each([
    ['500', { status: 500, body: { code: 'internal_error', message: '服务繁忙，请稍后再试', status: 500, details: {} } }],
    ['502 html', { status: 502, body: '<html>Bad Gateway</html>' }],
    ['503', { status: 503, body: { code: 'service_unavailable', message: '服务暂时不可用，请稍后重试', status: 503, details: {} } }],
    ['429', { status: 429, body: { code: 'rate_limited', message: '操作太频繁，请稍后再试', status: 429, details: {} } }],
    ['408', { status: 408, body: '' }],
  ])('%s keeps the draft queued with its key, and the typed draft stays current', async (_, answer) => {
    const { queuedId, typingId, server } = await queuedAndTyping({ 'POST /reports': () => answer })
    const { idempotencyKey } = drafts.getDraft(queuedId)
    const res = await drafts.flushPending()
    expect(res.failed).toBe(1)
    expect(drafts.listPending().map((d) => d.localId)).toEqual([queuedId])
    expect(drafts.getDraft(queuedId).retryAt).toBeGreaterThan(Date.now())
    expect(drafts.getCurrentDraft().localId).toBe(typingId)
    expect(drafts.getCurrentDraft().description).toBe('新的一条：井盖松动')
    expect(drafts.listReturned()).toEqual([])
    expect(server.callsTo('POST /reports').map((c) => c.header['Idempotency-Key'])).toEqual([idempotencyKey, idempotencyKey])
  })

  test('Retry-After only lengthens the back-off (capped at 1 h): skipped until then, then sent by itself', async () => {
    let busy = true
    let retryAfter = '1' // the server's answer on every outage 503
    const { queuedId, server } = await queuedAndTyping({
      'POST /reports': () =>
        busy
          ? { status: 503, header: { 'Retry-After': retryAfter }, body: { code: 'service_unavailable', message: '服务暂时不可用，请稍后重试', status: 503, details: {} } }
          : { id: 120 },
    })
    drafts.startAutoFlush()
    let before = Date.now()
    await drafts.flushPending()
    let { retryAt } = drafts.getDraft(queuedId)
    expect(retryAt).toBeGreaterThanOrEqual(before + 15000) // the back-off, not the server's 1 s
    expect(retryAt).toBeLessThan(before + 20000)
    await drafts.flushPending() // too early: not sent
    expect(server.callsTo('POST /reports')).toHaveLength(2)
    retryAfter = '120' // longer than the second back-off (30 s): the server's wait
    before = Date.now()
    await drafts.flushPending({ force: true })
    ;({ retryAt } = drafts.getDraft(queuedId))
    expect(retryAt).toBeGreaterThanOrEqual(before + 120000)
    expect(retryAt).toBeLessThan(before + 125000)
    retryAfter = '86400' // a day: capped at 1 hour
    before = Date.now()
    await drafts.flushPending({ force: true })
    ;({ retryAt } = drafts.getDraft(queuedId))
    expect(retryAt).toBeGreaterThanOrEqual(before + 3600000)
    expect(retryAt).toBeLessThan(before + 3605000)
    expect(server.callsTo('POST /reports')).toHaveLength(4)
    // once the wait is over the timer resends it by itself
    busy = false
    drafts.updateDraft(queuedId, { retryAt: Date.now() + 300 })
    drafts.stopAutoFlush()
    drafts.startAutoFlush()
    await new Promise((r) => setTimeout(r, 800))
    expect(server.callsTo('POST /reports')).toHaveLength(5)
    expect(drafts.listPending()).toHaveLength(0)
  })

  test('without Retry-After a 5xx backs off; 立即重试 (force) sends at once', async () => {
    let busy = true
    const { queuedId, server } = await queuedAndTyping({
      'POST /reports': () => (busy ? { status: 500, body: { code: 'internal_error', message: '服务繁忙，请稍后再试', status: 500, details: {} } } : { id: 121 }),
    })
    const before = Date.now()
    await drafts.flushPending()
    expect(drafts.getDraft(queuedId).retryAt).toBeGreaterThanOrEqual(before + 15000)
    await drafts.flushPending()
    expect(server.callsTo('POST /reports')).toHaveLength(2) // waiting
    busy = false
    const res = await drafts.flushPending({ force: true })
    expect(res.submitted.map((r) => r.id)).toEqual([121])
  })

  test('a 4xx refusal in the background returns the draft to editing without making it current', async () => {
    const { queuedId, typingId } = await queuedAndTyping({
      'POST /reports': () => refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422),
    })
    await drafts.flushPending()
    expect(drafts.listPending()).toHaveLength(0)
    expect(drafts.getCurrentDraft().localId).toBe(typingId)
    expect(drafts.getDraft(queuedId)).toMatchObject({ status: 'editing', lastError: '描述包含不适宜内容，请修改后再提交' })
    expect(drafts.listReturned().map((d) => d.localId)).toEqual([queuedId])
    // the rider opens it when they choose to; the typed draft is kept and listed
    drafts.openDraft(queuedId)
    expect(drafts.getCurrentDraft().localId).toBe(queuedId)
    expect(drafts.listReturned().map((d) => d.localId)).toEqual([typingId])
  })

  test('a 401 that survives the re-login keeps the draft queued', async () => {
    const { queuedId, typingId } = await queuedAndTyping({
      'POST /reports': () => refusal('auth.invalid_token', '登录已过期', 401),
    })
    mockServer({
      'POST /uploads': () => ({ id: 'u' }),
      'POST /reports': () => refusal('auth.invalid_token', '登录已过期', 401),
      'POST /auth/wechat-login': () => ({ token: 'tok-2', user: { id: 1, role: 'rider' } }),
    })
    await drafts.flushPending()
    expect(drafts.listPending().map((d) => d.localId)).toEqual([queuedId])
    expect(drafts.getCurrentDraft().localId).toBe(typingId)
  })
})

test('a draft discarded while its photos upload stops cleanly: no report is posted', async () => {
  const localId = fillDraft()
  const server = mockServer({
    'POST /uploads': () => {
      drafts.discardDraft(localId) // 清空草稿 while the first photo is on its way
      return { id: 'u' }
    },
    'POST /reports': () => ({ id: 130 }),
  })
  const err = await drafts.submitDraft(localId).catch((e) => e)
  expect(err).toMatchObject({ code: drafts.DRAFT_GONE })
  expect(server.callsTo('POST /reports')).toHaveLength(0)
  expect(drafts.getDraft(localId)).toBeNull()
  expect(drafts.listPending()).toHaveLength(0)
})

describe('photos saved out of the temp folder', () => {
  const SAVED = ['wxfile://usr/report-photos/p1.jpg', 'wxfile://usr/report-photos/p2.jpg']

  function fillSaved() {
    const fsm = wx.getFileSystemManager()
    SAVED.forEach((p) => fsm.__files.add(p))
    const localId = fillDraft()
    drafts.updateDraft(localId, { photos: SAVED.map((path) => ({ path, uploadId: null })) })
    return { localId, fsm }
  }

  test('sent or discarded: the saved files are removed', async () => {
    const { localId, fsm } = fillSaved()
    mockServer({ 'POST /uploads': () => ({ id: 'u' }), 'POST /reports': () => ({ id: 140 }) })
    await drafts.submitDraft(localId)
    expect(fsm.__files.size).toBe(0)
    const second = fillSaved()
    drafts.discardDraft(second.localId)
    expect(fsm.unlinkSync.mock.calls.map((c) => c[0])).toEqual([...SAVED, ...SAVED])
    expect(fsm.__files.size).toBe(0)
  })

  test('a queued draft whose photo file vanished goes back to editing, asking to re-add it (not queued forever)', async () => {
    const { localId, fsm } = fillSaved()
    let online = false
    const server = mockServer({ 'POST /uploads': () => (online ? { id: 'u' } : 'network'), 'POST /reports': () => ({ id: 141 }) })
    await drafts.submitDraft(localId).catch(() => {})
    expect(drafts.listPending().map((d) => d.localId)).toEqual([localId])
    const typing = drafts.getCurrentDraft()
    fsm.__files.delete(SAVED[1]) // WeChat cleared it meanwhile
    online = true
    await drafts.flushPending()
    expect(drafts.listPending()).toHaveLength(0)
    const back = drafts.getDraft(localId)
    expect(back.status).toBe('editing')
    expect(back.lastError).toBe('有 1 张照片已丢失，请重新添加后再提交')
    expect(back.photos.map((p) => p.path)).toEqual([SAVED[0]]) // the lost one dropped, the other kept
    expect(server.callsTo('POST /reports')).toHaveLength(0)
    expect(server.callsTo('POST /uploads')).toHaveLength(1) // only the first, offline try
    expect(drafts.getCurrentDraft().localId).toBe(typing.localId)
    expect(drafts.listReturned().map((d) => d.localId)).toEqual([localId])
  })

  test('a file that goes during its upload is a lost photo, not a network failure', async () => {
    const { localId, fsm } = fillSaved()
    const server = mockServer({ 'POST /reports': () => ({ id: 142 }) })
    wx.uploadFile = jest.fn((opts) => {
      fsm.__files.delete(opts.filePath)
      setTimeout(() => opts.fail({ errMsg: 'uploadFile:fail file not found' }), 0)
    })
    const err = await drafts.submitDraft(localId).catch((e) => e)
    expect(err).toMatchObject({ code: drafts.PHOTO_MISSING })
    expect(drafts.listPending()).toHaveLength(0)
    expect(drafts.getCurrentDraft().localId).toBe(localId) // the rider's own submit: back in the form
    expect(drafts.getCurrentDraft().photos.map((p) => p.path)).toEqual([SAVED[1]])
    expect(server.callsTo('POST /reports')).toHaveLength(0)
  })
})
