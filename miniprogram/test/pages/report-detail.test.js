const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/reports/detail/index')
beforeEach(() => loggedIn())

const REPORT = (extra) => ({
  id: 9, category_name: '私拉电线', description: '楼道私拉电线', status: 'resolved', created_at: '2024-05-01T04:00:00Z', photos: [],
  timeline: [
    { id: 1, at: '2024-05-01T04:00:00Z', title: '已提交' },
    { id: 2, at: '2024-05-01T05:00:00Z', title: '已派单至金水社区' },
    { id: 3, at: '2024-05-02T02:00:00Z', title: '已办结', note: '已拆除私拉电线' },
  ],
  ...extra,
})

test('shows the timeline newest first and sends a rating', async () => {
  let feedback = null
  const server = mockServer({
    'GET /reports/:id': () => REPORT({ feedback }),
    'POST /reports/:id/feedback': (req) => {
      feedback = req.data
      return { ok: true }
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '9' })
  await flush()
  const titles = page.querySelectorAll('.section >>> .title').map((n) => n.dom.textContent)
  expect(titles).toEqual(['已办结', '已派单至金水社区', '已提交'])
  expect(pageText(page)).toContain('已拆除私拉电线')
  page.instance.onRate({ detail: 4 })
  page.instance.onComment({ detail: { value: '很及时' } })
  page.querySelector('.send-feedback').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /reports/9/feedback')[0].data).toEqual({ rating: 4, comment: '很及时', fixed: true })
  expect(pageText(page)).toContain('我的评价')
  expect(page.querySelector('.send-feedback')).toBeUndefined()
})

test('no rating form before it is resolved; not found shows the message', async () => {
  mockServer({ 'GET /reports/:id': () => REPORT({ status: 'in_progress' }) })
  const page = render(id)
  await page.instance.onLoad({ id: '9' })
  await flush()
  expect(page.querySelector('.send-feedback')).toBeUndefined()
  mockServer({ 'GET /reports/:id': () => refusal('report.not_found', '上报不存在', 404) })
  const p2 = render(id)
  await p2.instance.onLoad({ id: '1' })
  await flush()
  expect(pageText(p2)).toContain('上报不存在')
})

test('feedback refusal is toasted', async () => {
  mockServer({ 'GET /reports/:id': () => REPORT(), 'POST /reports/:id/feedback': () => refusal('report.feedback_exists', '您已评价过', 409) })
  const page = render(id)
  await page.instance.onLoad({ id: '9' })
  await page.instance.onSendFeedback()
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '您已评价过' }))
})
