const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/posts/index')
beforeEach(() => loggedIn())

test('claim a governance post', async () => {
  const server = mockServer({
    'GET /posts': () => ({ items: [{ id: 2, name: '流动网格员', description: '发现问题随手拍', slots_left: 3 }], total: 1 }),
    'POST /posts/:id/claims': () => ({ ok: true }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('流动网格员')
  page.querySelector('.claim').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /posts/2/claims')).toHaveLength(1)
  expect(pageText(page)).toContain('已认领')
})

test('claim refused shows the server message', async () => {
  mockServer({
    'GET /posts': () => ({ items: [{ id: 2, name: '安全巡查员', slots_left: 1 }], total: 1 }),
    'POST /posts/:id/claims': () => refusal('post.full', '该岗位名额已满', 409),
  })
  const page = render(id)
  await page.instance.onLoad()
  await page.instance.onClaim({ currentTarget: { dataset: { id: 2 } } })
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '该岗位名额已满' }))
  expect(pageText(page)).not.toContain('已认领')
})
