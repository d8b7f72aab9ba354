const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')
const drafts = require('../../src/services/drafts')

const id = load('pages/report/index')
const CATS = { items: [{ id: 1, name: '垃圾倾倒' }, { id: 2, name: '私拉电线' }] }

beforeEach(() => loggedIn())

async function openFilled(routes) {
  const server = mockServer({ 'GET /report-categories': () => CATS, 'POST /uploads': () => ({ id: 'up-1' }), ...routes })
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
    'POST /reports': () => ({ id: 77, status: 'submitted', duplicates: [{ id: 70, description: '三楼电线', distance_m: 40 }, { id: 71, description: '充电线', distance_m: 90 }] }),
    'POST /reports/:id/upvote': () => ({ upvotes: 2 }),
  })
  const key = drafts.getCurrentDraft().idempotencyKey
  page.querySelector('.submit').dispatchEvent('tap')
  await flush(30)
  const post = server.callsTo('POST /reports')[0]
  expect(post.header['Idempotency-Key']).toBe(key)
  expect(post.data).toMatchObject({ category_id: 2, photo_ids: ['up-1'], anonymous: false })
  expect(pageText(page)).toContain('附近已有 2 条同类问题')
  all(page, '.upvote')[0].dispatchEvent('tap')
  await flush(20)
  expect(server.callsTo('POST /reports/70/upvote')).toHaveLength(1)
  expect(pageText(page)).toContain('已 +1')
  // a fresh draft is ready for the next report
  expect(drafts.getCurrentDraft().description).toBe('')
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
  const { page, server } = await openFilled({ 'POST /reports': () => (online ? { id: 78 } : 'network') })
  await page.instance.onSubmit()
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '网络不稳定，已保存，联网后自动提交' }))
  expect(pageText(page)).toContain('有 1 条上报等待网络恢复后提交')
  online = true
  page.querySelector('.retry-pending').dispatchEvent('tap')
  await flush(30)
  const keys = server.callsTo('POST /reports').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[0]).toBe(keys[1])
  expect(server.callsTo('POST /uploads')).toHaveLength(1)
  expect(pageText(page)).not.toContain('等待网络恢复')
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
