const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')
const drafts = require('../../src/services/drafts')

const id = load('pages/report/index')
const CATS = [
  { id: 1, code: 'garbage', name: '垃圾倾倒', icon: 'trash', accept_hours: 2, resolve_hours: 72, points_apply: true, duplicate_radius_m: 100 },
  { id: 2, code: 'wires', name: '私拉电线', icon: 'wire', accept_hours: 2, resolve_hours: 72, points_apply: true, duplicate_radius_m: 100 },
]
const UPLOAD = { status: 201, body: { id: 41, url: 'http://api.test/u/41', thumb_url: 'http://api.test/u/41?t', width: 8, height: 8, moderation: 'pending' } }
const DUP = (id, description, distance) => ({ id, report_no: `2405010000${id}`, status: 'dispatched', status_name: '已派单', category: { id: 2, name: '私拉电线' }, description, distance_m: distance, confirm_count: 0 })
const CREATED = (id, duplicates = []) => ({ status: 201, body: { report: { id, status: 'dispatched', status_name: '已派单', timeline: [], photos: [] }, possible_duplicates: duplicates } })

beforeEach(() => loggedIn())

async function openFilled(routes) {
  const server = mockServer({ 'GET /report-categories': () => CATS, 'POST /uploads': () => UPLOAD, ...routes })
  const page = render(id)
  page.instance.onLoad()
  page.instance.onShow()
  await flush(20)
  all(page, '.categories >>> .cell')[1].dispatchEvent('tap')
  await flush()
  page.instance.onDescInput({ detail: { value: '楼道私拉电线' } })
  page.instance.onPhotosChange({ detail: { photos: [{ path: 'wxfile://a.jpg', uploadId: null }] } })
  return { page, server }
}

test('renders categories, locates (gcj02), saves every change to the draft', async () => {
  const { page } = await openFilled({})
  expect(pageText(page)).toContain('私拉电线')
  expect(wx.getLocation.mock.calls[0][0].type).toBe('gcj02')
  const stored = drafts.getCurrentDraft()
  expect(stored).toMatchObject({ category_id: 2, category_name: '私拉电线', description: '楼道私拉电线', lat: 34.7466, lng: 113.6253 })
  expect(stored.photos).toEqual([{ path: 'wxfile://a.jpg', uploadId: null }])
  page.instance.onAnonymousChange({ detail: true })
  expect(drafts.getCurrentDraft().anonymous).toBe(true)
  await page.instance.onChooseLocation()
  expect(drafts.getCurrentDraft().address).toBe('郑州市金水区经三路 1 号')
})

test('submit: photo uploaded, report posted with the draft key, duplicates hint with +1', async () => {
  const { page, server } = await openFilled({
    'POST /reports': () => CREATED(77, [DUP(70, '三楼电线', 40), DUP(71, '充电线', 90)]),
    'POST /reports/:id/plus-one': () => ({ id: 70, confirm_count: 1 }),
  })
  const key = drafts.getCurrentDraft().idempotencyKey
  page.querySelector('.submit').dispatchEvent('tap')
  await flush(30)
  const post = server.callsTo('POST /reports')[0]
  expect(post.header['Idempotency-Key']).toBe(key)
  expect(post.data).toMatchObject({ category_id: 2, photo_ids: [41], anonymous: false, self_handled: false, lat: 34.7466, lng: 113.6253 })
  expect(page.data.submitted.id).toBe(77)
  expect(pageText(page)).toContain('附近已有 2 条同类问题')
  all(page, '.upvote')[0].dispatchEvent('tap')
  await flush(20)
  expect(server.callsTo('POST /reports/70/plus-one')).toHaveLength(1)
  expect(pageText(page)).toContain('已 +1')
  // a fresh draft is ready for the next report
  expect(drafts.getCurrentDraft().description).toBe('')
})

test('before submit: nearby open reports of the category are shown and can be +1\'d', async () => {
  const { page, server } = await openFilled({
    'GET /reports/nearby': () => [DUP(70, '三楼电线', 40), DUP(71, '充电线', 90)],
    'POST /reports/:id/plus-one': () => ({ id: 71, confirm_count: 2 }),
  })
  const q = server.callsTo('GET /reports/nearby').pop().query
  expect(q).toEqual({ category_id: '2', lat: '34.7466', lng: '113.6253' })
  await flush()
  expect(pageText(page)).toContain('附近已有 2 条同类问题')
  all(page, '.nearby-upvote')[1].dispatchEvent('tap')
  await flush(20)
  expect(server.callsTo('POST /reports/71/plus-one')).toHaveLength(1)
  expect(page.data.plusOned[71]).toBe(true)
  expect(server.callsTo('POST /reports')).toHaveLength(0)
})

test('validation: no category → a Chinese hint, nothing sent', async () => {
  const server = mockServer({ 'GET /report-categories': () => CATS })
  const page = render(id)
  page.instance.onLoad()
  await flush(20)
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('请选择问题类型')
  expect(server.callsTo('POST /reports')).toHaveLength(0)
})

test('offline: kept in the queue, banner shows it, retry sends it with the same key', async () => {
  let online = false
  const { page, server } = await openFilled({ 'POST /reports': () => (online ? CREATED(78) : 'network') })
  await page.instance.onSubmit()
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '网络不稳定，已保存，联网后自动提交' }))
  expect(pageText(page)).toContain('有 1 条上报等待自动重新提交')
  online = true
  page.querySelector('.retry-pending').dispatchEvent('tap')
  await flush(30)
  const keys = server.callsTo('POST /reports').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[0]).toBe(keys[1])
  expect(server.callsTo('POST /uploads')).toHaveLength(1)
  expect(pageText(page)).not.toContain('等待自动重新提交')
})

test('立即重试 says why it failed: the server busy, or the draft refused (not "网络不稳定")', async () => {
  let answer = 'network'
  const { page } = await openFilled({ 'POST /reports': () => answer })
  await page.instance.onSubmit()
  await flush()
  answer = { status: 503, header: { 'Retry-After': '1' }, body: { code: 'service_unavailable', message: '服务暂时不可用，请稍后重试', status: 503, details: {} } }
  await page.instance.onRetryPending()
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '服务暂时不可用，请稍后重试' }))
  expect(pageText(page)).toContain('有 1 条上报等待自动重新提交')
  answer = refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422)
  await page.instance.onRetryPending()
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '上报未通过，请点「去查看」修改后再提交' }))
  expect(pageText(page)).toContain('有 1 条上报未提交')
  expect(pageText(page)).not.toContain('等待自动重新提交')
})

test('server refusal: its message is shown and the text is kept', async () => {
  const { page } = await openFilled({ 'POST /reports': () => refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422) })
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('描述包含不适宜内容，请修改后再提交')
  expect(page.data.draft.description).toBe('楼道私拉电线')
})

test('categories failure shows error-state with retry', async () => {
  mockServer({ 'GET /report-categories': () => 'network' })
  const page = render(id)
  page.instance.onLoad()
  await flush(20)
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
})

test('server busy on submit: kept in the queue (not sent back to editing), a fresh draft to type', async () => {
  const { page } = await openFilled({ 'POST /reports': () => ({ status: 503, header: { 'Retry-After': '30' }, body: { code: 'service_unavailable', message: '服务暂时不可用，请稍后重试', status: 503, details: {} } }) })
  const { localId } = page.data.draft
  await page.instance.onSubmit()
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '服务繁忙，已保存，稍后自动提交' }))
  expect(drafts.listPending().map((d) => d.localId)).toEqual([localId])
  expect(page.data.draft.localId).not.toBe(localId)
  expect(pageText(page)).toContain('有 1 条上报等待自动重新提交')
})

test('a queued report refused in the background: the typed draft stays, a banner offers 去查看', async () => {
  let answer = 'network'
  const { page } = await openFilled({ 'POST /reports': () => answer })
  const queuedId = page.data.draft.localId
  await page.instance.onSubmit()
  await flush()
  page.instance.onDescInput({ detail: { value: '新的：井盖松动' } })
  const typingId = page.data.draft.localId
  answer = refusal('report.content_rejected', '描述包含不适宜内容，请修改后再提交', 422)
  await drafts.flushPending() // the app's automatic resend (onShow / network back)
  page.instance.onShow()
  await flush()
  expect(drafts.getCurrentDraft().localId).toBe(typingId)
  expect(page.data.draft.description).toBe('新的：井盖松动')
  expect(pageText(page)).not.toContain('等待自动重新提交')
  expect(pageText(page)).toContain('有 1 条上报未提交')
  page.querySelector('.open-returned').dispatchEvent('tap')
  await flush()
  expect(page.data.draft.localId).toBe(queuedId)
  expect(page.data.draft.description).toBe('楼道私拉电线')
  expect(pageText(page)).toContain('描述包含不适宜内容，请修改后再提交')
  expect(pageText(page)).toContain('有 1 条上报未提交') // the typed one, kept
})

test('清空草稿 asks first: 取消 keeps the text and photos, 确定 clears them', async () => {
  const { page } = await openFilled({})
  const { localId } = page.data.draft
  wx.showModal = jest.fn((o) => o.success({ confirm: false, cancel: true }))
  page.querySelector('.discard').dispatchEvent('tap')
  await flush()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '清空草稿' }))
  expect(page.data.draft.description).toBe('楼道私拉电线')
  expect(drafts.getDraft(localId).photos).toHaveLength(1)
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  page.querySelector('.discard').dispatchEvent('tap')
  await flush()
  expect(drafts.getDraft(localId)).toBeNull()
  expect(page.data.draft.localId).not.toBe(localId)
  expect(page.data.draft.description).toBe('')
  expect(page.data.draft.photos).toEqual([])
})

/** Start sending with the photo upload held until `release()`: the page is mid-submit. */
async function submitWithUploadHeld(page) {
  const upload = wx.uploadFile
  const held = {}
  wx.uploadFile = jest.fn((opts) => {
    held.release = () => upload(opts)
  })
  const sending = page.instance.onSubmit()
  await flush()
  expect(page.data.submitting).toBe(true)
  return { sending, release: () => held.release() }
}

test('清空草稿 is hidden and ignored while the report is being sent', async () => {
  const { page, server } = await openFilled({ 'POST /reports': () => CREATED(79) })
  const { sending, release } = await submitWithUploadHeld(page)
  expect(page.querySelector('.discard')).toBeFalsy()
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onDiscard()
  expect(wx.showModal).not.toHaveBeenCalled()
  release()
  await sending
  await flush()
  expect(server.callsTo('POST /reports')).toHaveLength(1)
  expect(page.data.submitted.id).toBe(79)
})

test('while the report is being sent the photos and fields are read-only; the sent photo list is the tapped one', async () => {
  const { page, server } = await openFilled({ 'POST /reports': () => CREATED(81) })
  await flush()
  expect(all(page, '.picker >>> .remove')).toHaveLength(1)
  const { sending, release } = await submitWithUploadHeld(page)
  expect(all(page, '.picker >>> .remove')).toHaveLength(0) // no × while sending
  expect(page.querySelector('.picker >>> .add')).toBeFalsy()
  // a change that still arrives (e.g. a picker opened before 提交) is ignored
  page.instance.onPhotosChange({ detail: { photos: [] } })
  page.instance.onDescInput({ detail: { value: '改了' } })
  expect(page.data.draft.photos).toHaveLength(1)
  release()
  await sending
  await flush()
  expect(server.callsTo('POST /reports')).toHaveLength(1)
  expect(server.callsTo('POST /reports')[0].data).toMatchObject({ photo_ids: [41], description: '楼道私拉电线' })
  expect(page.data.submitted.id).toBe(81)
  expect(page.data.formError).toBe('')
})

test('a photo whose file was cleared: the form says to add it again, nothing is queued', async () => {
  const { page, server } = await openFilled({ 'POST /reports': () => CREATED(80) })
  page.instance.onPhotosChange({ detail: { photos: [{ path: 'wxfile://usr/report-photos/gone.jpg', uploadId: null }] } })
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('有 1 张照片已丢失，请重新添加后再提交')
  expect(page.data.draft.photos).toEqual([])
  expect(page.data.draft.description).toBe('楼道私拉电线')
  expect(drafts.listPending()).toHaveLength(0)
  expect(server.callsTo('POST /uploads')).toHaveLength(0)
  expect(server.callsTo('POST /reports')).toHaveLength(0)
})

test('a GPS fix sends no made-up address, and replaces a place chosen on the map before', async () => {
  const { page, server } = await openFilled({ 'POST /reports': () => CREATED(78) })
  expect(pageText(page)).toContain('已定位到当前位置')
  await page.instance.onChooseLocation()
  expect(drafts.getCurrentDraft().address).toBe('郑州市金水区经三路 1 号')
  await page.instance.onLocate()
  expect(drafts.getCurrentDraft()).toMatchObject({ lat: 34.7466, lng: 113.6253, address: '' })
  page.querySelector('.submit').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /reports')[0].data.address).toBeNull()
})
