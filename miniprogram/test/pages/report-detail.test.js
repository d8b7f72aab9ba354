const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/reports/detail/index')
beforeEach(() => loggedIn())

const REPORT = (extra) => ({
  id: 9, report_no: '24050100009', category: { id: 2, code: 'wires', name: '私拉电线', icon: 'wire' }, description: '楼道私拉电线',
  status: 'resolved', status_name: '已办结', created_at: '2024-05-01T12:00:00+08:00', photos: [], can_give_feedback: true, feedback: null,
  timeline: [
    { id: 1, action: 'submit', action_name: '提交反映', actor_role_name: '反映人', created_at: '2024-05-01T12:00:00+08:00', photos: [] },
    { id: 2, action: 'dispatch', action_name: '派单', actor_role_name: '社区工作人员', created_at: '2024-05-01T13:00:00+08:00', photos: [] },
    { id: 3, action: 'resolve', action_name: '办结', actor_role_name: '网格员', note: '已拆除私拉电线', created_at: '2024-05-02T10:00:00+08:00', photos: [] },
  ],
  ...extra,
})

test('shows the timeline newest first and sends a rating', async () => {
  let feedback = null
  const server = mockServer({
    'GET /reports/:id': () => REPORT({ feedback, can_give_feedback: !feedback }),
    'POST /reports/:id/feedback': (req) => {
      feedback = { stars: req.data.stars, comment: req.data.comment, at: '2024-05-02T12:00:00+08:00' }
      return REPORT({ feedback, can_give_feedback: false })
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '9' })
  await flush()
  const titles = page.querySelectorAll('.section >>> .title').map((n) => n.dom.textContent)
  expect(titles).toEqual(['办结', '派单', '提交反映'])
  expect(pageText(page)).toContain('私拉电线')
  expect(pageText(page)).toContain('已办结')
  expect(pageText(page)).toContain('已拆除私拉电线')
  page.instance.onRate({ detail: 4 })
  page.instance.onComment({ detail: { value: '很及时' } })
  page.querySelector('.send-feedback').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /reports/9/feedback')[0].data).toEqual({ stars: 4, comment: '很及时', fixed: true })
  expect(pageText(page)).toContain('我的评价')
  expect(pageText(page)).toContain('4 星')
  expect(page.querySelector('.send-feedback')).toBeUndefined()
})

test('no rating form before it is resolved; not found shows the message', async () => {
  mockServer({ 'GET /reports/:id': () => REPORT({ status: 'in_progress', status_name: '处置中', can_give_feedback: false }) })
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
