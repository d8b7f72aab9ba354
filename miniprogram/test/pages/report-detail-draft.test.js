// A report begun by messaging the official account is kept by the server as a DRAFT; the reply's
// card opens packages/reports/detail/index?id=<draft> "to choose a category and submit there".
// The page was read-only (no category picker, no 提交, nothing called POST /reports/{id}/submit),
// so such a report could never be filed.
const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/reports/detail/index')
beforeEach(() => loggedIn({ id: 7, role: 'resident' }))

const CATS = [
  { id: 3, code: 'fire_hazard', name: '消防隐患', icon: '🔥' },
  { id: 4, code: 'garbage', name: '垃圾倾倒', icon: '🗑' },
]
const DRAFT = (extra) => ({
  id: 42, report_no: '24050100042', category: null, description: '消防通道被占', status: 'draft', status_name: '草稿',
  created_at: '2024-05-01T12:00:00+08:00', photos: [], timeline: [], can_give_feedback: false, feedback: null,
  address: '淮河路与兴华街交叉口', lat: 34.73, lng: 113.625, viewer: 'owner', channel: 'wechat',
  ...extra,
})
const FILED = (extra) => ({
  ...DRAFT(extra),
  status: 'received', status_name: '待受理', category: { id: 3, code: 'fire_hazard', name: '消防隐患', icon: '🔥' },
  timeline: [{ id: 1, action: 'submit', action_name: '提交反映', actor_role_name: '居民', created_at: '2024-05-01T12:30:00+08:00', photos: [] }],
})

/** A server holding draft 42 until it is filed (then GET answers the filed report). */
function draftServer({ draft = DRAFT(), submit } = {}) {
  let filed = null
  const server = mockServer({
    'GET /reports/:id': () => filed || draft,
    'GET /report-categories': () => CATS,
    'POST /reports/:id/submit': (req) => {
      const out = submit ? submit(req) : FILED()
      if (out && out.status === 'received') filed = out
      return out
    },
  })
  server.file = () => {
    filed = FILED()
  }
  return server
}

async function open() {
  const page = render(id)
  await page.instance.onLoad({ id: '42' })
  await flush()
  return page
}
const tapCategory = async (page, i) => {
  all(page, '.categories >>> .cell')[i].dispatchEvent('tap')
  await flush()
}
const tapSubmit = async (page) => {
  page.querySelector('.submit-draft').dispatchEvent('tap')
  await flush(30)
}

const PHOTO = { id: 5, url: 'http://api.test/u/5', thumb_url: 'http://api.test/u/5?t', moderation: 'pass' }

test('the reporter picks a category and files the draft; the filed report is shown', async () => {
  const server = draftServer({ draft: DRAFT({ photos: [PHOTO] }) })
  const page = await open()
  expect(pageText(page)).toContain('消防通道被占') // the text and photo as received
  expect(all(page, '.photo')).toHaveLength(1)
  expect(pageText(page)).toContain('淮河路与兴华街交叉口')
  expect(pageText(page)).toContain('草稿')
  // categories of the street where the problem is (the draft's location)
  expect(server.callsTo('GET /report-categories')[0].query).toEqual({ lat: '34.73', lng: '113.625' })
  expect(pageText(page)).toContain('消防隐患')
  expect(page.querySelector('.locate')).toBeFalsy() // the draft has a location: no choice asked
  await tapCategory(page, 0)
  await tapSubmit(page)
  const [post] = server.callsTo('POST /reports/42/submit')
  expect(JSON.parse(JSON.stringify(post.data))).toEqual({ category_id: 3 }) // text, photos, location: the draft's
  expect(post.header['Idempotency-Key']).toBeUndefined() // the endpoint reads none; a repeat is a 409
  expect(server.callsTo('GET /reports/42')).toHaveLength(2) // reloaded
  expect(pageText(page)).toContain('待受理')
  expect(pageText(page)).toContain('提交反映') // the timeline of the filed report
  expect(page.querySelector('.submit-draft')).toBeFalsy()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已提交' }))
})

test('without a category nothing is sent; categories that failed to load can be asked again', async () => {
  let categoriesDown = true
  const server = mockServer({
    'GET /reports/:id': () => DRAFT(),
    'GET /report-categories': () => (categoriesDown ? 'network' : CATS),
  })
  const page = await open()
  await tapSubmit(page)
  expect(pageText(page)).toContain('请选择问题类型')
  expect(server.callsTo('POST /reports/42/submit')).toHaveLength(0)
  expect(pageText(page)).toContain('网络不稳定')
  categoriesDown = false
  await page.instance.onRetryCategories()
  await flush()
  expect(all(page, '.categories >>> .cell')).toHaveLength(2)
})

test('a draft without a location: chosen on the map, categories listed there, sent with the report', async () => {
  const server = draftServer({ draft: DRAFT({ lat: null, lng: null, address: null }) })
  const page = await open()
  expect(server.callsTo('GET /report-categories')[0].query).toEqual({}) // my community's until a place is chosen
  await tapCategory(page, 0)
  await tapSubmit(page)
  expect(pageText(page)).toContain('请先获取或选择问题位置')
  expect(server.callsTo('POST /reports/42/submit')).toHaveLength(0)
  page.querySelector('.choose').dispatchEvent('tap')
  await flush()
  expect(pageText(page)).toContain('郑州市金水区经三路 1 号')
  expect(server.callsTo('GET /report-categories').pop().query).toEqual({ lat: '34.75', lng: '113.63' })
  expect(page.data.categoryId).toBe(3) // still listed there: the choice stays
  await tapSubmit(page)
  expect(server.callsTo('POST /reports/42/submit')[0].data).toMatchObject({ category_id: 3, lat: 34.75, lng: 113.63, address: '郑州市金水区经三路 1 号' })
  expect(pageText(page)).toContain('待受理')
})

test('a draft with neither text nor photos asks for a description', async () => {
  const server = draftServer({ draft: DRAFT({ description: '' }) })
  const page = await open()
  await tapCategory(page, 1)
  await tapSubmit(page)
  expect(pageText(page)).toContain('请描述一下问题')
  page.instance.onExtraText({ detail: { value: ' 垃圾堆在楼下 ' } })
  await tapSubmit(page)
  expect(server.callsTo('POST /reports/42/submit')[0].data).toMatchObject({ category_id: 4, description: '垃圾堆在楼下' })
})

test('409 report.not_draft (filed already): reloads and says so', async () => {
  let server = null
  server = draftServer({
    submit: () => {
      server.file() // filed meanwhile (an earlier tap whose answer was lost)
      return refusal('report.not_draft', '该问题已提交，无需重复提交', 409)
    },
  })
  const page = await open()
  await tapCategory(page, 0)
  await tapSubmit(page)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该问题已提交，无需重复提交' }))
  expect(server.callsTo('GET /reports/42')).toHaveLength(2)
  expect(pageText(page)).toContain('待受理')
  expect(page.querySelector('.submit-draft')).toBeFalsy()
})

test('another refusal shows the server\'s message; the form stays', async () => {
  const server = draftServer({ submit: () => refusal('report.location_required', '请在地图上选择位置或填写地址', 422) })
  const page = await open()
  await tapCategory(page, 0)
  await tapSubmit(page)
  expect(page.querySelector('.form-error').dom.textContent).toContain('请在地图上选择位置或填写地址')
  expect(page.querySelector('.submit-draft')).toBeTruthy()
  expect(page.data.categoryId).toBe(3)
  expect(server.callsTo('GET /reports/42')).toHaveLength(1)
})

test('a network failure keeps the form as it was; tapping again files it', async () => {
  let online = false
  const server = draftServer({ submit: () => (online ? FILED() : 'network') })
  const page = await open()
  await tapCategory(page, 0)
  await tapSubmit(page)
  expect(pageText(page)).toContain('网络不稳定')
  expect(page.querySelector('.submit-draft')).toBeTruthy()
  expect(page.data.categoryId).toBe(3)
  expect(page.data.submitting).toBe(false)
  online = true
  await tapSubmit(page)
  expect(server.callsTo('POST /reports/42/submit').map((c) => c.data.category_id)).toEqual([3, 3])
  expect(pageText(page)).toContain('待受理')
})

test('a double tap sends one request', async () => {
  const server = draftServer()
  const page = await open()
  await tapCategory(page, 0)
  page.querySelector('.submit-draft').dispatchEvent('tap')
  page.instance.onSubmitDraft()
  await flush(30)
  expect(server.callsTo('POST /reports/42/submit')).toHaveLength(1)
})

test('a filed report, or one seen by someone else, has no draft form', async () => {
  draftServer({ draft: DRAFT({ viewer: 'public' }) })
  const page = await open()
  expect(pageText(page)).toContain('消防通道被占')
  expect(page.querySelector('.submit-draft')).toBeFalsy()
  expect(page.querySelector('.categories')).toBeFalsy()
})
