const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/posts/index')
beforeEach(() => loggedIn())

test('claim a governance post', async () => {
  const server = mockServer({
    'GET /posts': () => ({ items: [{ id: 2, org_unit_id: 5, name: '流动网格员', description: '发现问题随手拍', capacity: 5, holder_count: 2, duty_points: 10, is_active: true, my_claim: null }], total: 1 }),
    'POST /posts/:id/claims': () => ({ status: 201, body: { id: 8, post_id: 2, user_id: 1, status: 'pending', status_name: '待审核', created_at: '2024-05-01T12:00:00+08:00' } }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('流动网格员')
  page.querySelector('.claim').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /posts/2/claims')).toHaveLength(1)
  expect(pageText(page)).toContain('待审核')
  expect(pageText(page)).toContain('2/5 人在岗')
})

test('claim refused shows the server message', async () => {
  mockServer({
    'GET /posts': () => ({ items: [{ id: 2, name: '安全巡查员', capacity: 2, holder_count: 1, my_claim: null }], total: 1 }),
    'POST /posts/:id/claims': () => refusal('post.full', '该岗位名额已满', 409),
  })
  const page = render(id)
  await page.instance.onLoad()
  await page.instance.onClaim({ currentTarget: { dataset: { id: 2 } } })
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '该岗位名额已满' }))
  expect(pageText(page)).not.toContain('待审核')
})
