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

const CLAIMS = (status) => ({
  items: [
    { id: 8, post_id: 2, post_name: '流动网格员', org_unit_name: '金水社区', user_id: 1, status, status_name: { pending: '待审核', withdrawn: '已撤回' }[status], created_at: '2024-05-01T04:00:00Z' },
    { id: 6, post_id: 3, post_name: '安全巡查员', org_unit_name: '金水社区', user_id: 1, status: 'declined', status_name: '未通过', decision_note: '名额已满', created_at: '2024-04-01T04:00:00Z' },
  ],
  total: 2,
})

test('my claims: a pending claim can be withdrawn after a confirm', async () => {
  let status = 'pending'
  const server = mockServer({
    'GET /posts': () => ({ items: [], total: 0 }),
    'GET /me/post-claims': () => CLAIMS(status),
    'POST /me/post-claims/:id/withdraw': () => {
      status = 'withdrawn'
      return CLAIMS(status).items[0]
    },
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  const t = pageText(page)
  expect(t).toContain('我的认领')
  expect(t).toContain('流动网格员')
  expect(t).toContain('待审核')
  expect(t).toContain('社区意见：名额已满')
  expect(page.querySelectorAll('.withdraw')).toHaveLength(1) // only the pending one
  page.querySelector('.withdraw').dispatchEvent('tap')
  await flush(30)
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '撤回申请' }))
  expect(server.callsTo('POST /me/post-claims/8/withdraw')).toHaveLength(1)
  expect(pageText(page)).toContain('已撤回')
  expect(page.querySelector('.withdraw')).toBeFalsy()
})

test('a refused withdrawal shows the server message', async () => {
  mockServer({
    'GET /posts': () => ({ items: [], total: 0 }),
    'GET /me/post-claims': () => CLAIMS('pending'),
    'POST /me/post-claims/:id/withdraw': () => refusal('post_claim.not_pending', '只能撤回待审核的申请；在岗请联系社区办理离岗', 409),
  })
  const page = render(id)
  await page.instance.onLoad()
  await page.instance.onWithdraw({ currentTarget: { dataset: { id: 8 } } })
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '只能撤回待审核的申请；在岗请联系社区办理离岗' }))
})

// A refusal means the post or the claim changed on the server (post full or closed, a claim
// already decided): the page reloads both lists instead of keeping the stale buttons.
test('a refused claim reloads the posts and my claims; a double tap asks once and sends one claim', async () => {
  let taken = false
  const server = mockServer({
    'GET /posts': () => ({ items: [{ id: 2, name: '安全巡查员', capacity: 2, holder_count: taken ? 2 : 1, my_claim: null }], total: 1 }),
    'GET /me/post-claims': () => ({ items: [], total: 0 }),
    'POST /posts/:id/claims': () => {
      taken = true // the last place went to someone else meanwhile
      return refusal('post.full', '该岗位人数已满，请看看其他岗位', 409)
    },
  })
  const answers = []
  wx.showModal = jest.fn((o) => answers.push(o))
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  page.querySelector('.claim').dispatchEvent('tap')
  page.querySelector('.claim').dispatchEvent('tap')
  await flush()
  expect(answers).toHaveLength(1)
  answers[0].success({ confirm: true })
  await flush(30)
  expect(server.callsTo('POST /posts/2/claims')).toHaveLength(1)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该岗位人数已满，请看看其他岗位' }))
  expect(server.callsTo('GET /posts')).toHaveLength(2)
  expect(server.callsTo('GET /me/post-claims')).toHaveLength(2)
  expect(pageText(page)).toContain('2/2 人在岗')
  expect(page.querySelector('.claim').dom.textContent.trim()).toBe('已满')
  expect(page.data.claimingId).toBeNull()
})

test('a refused withdrawal reloads my claims (the claim was decided meanwhile); a double tap sends one request', async () => {
  let status = 'pending'
  const server = mockServer({
    'GET /posts': () => ({ items: [], total: 0 }),
    'GET /me/post-claims': () => ({ items: [{ ...CLAIMS(status).items[0], status, status_name: status === 'approved' ? '在岗' : '待审核' }], total: 1 }),
    'POST /me/post-claims/:id/withdraw': () => {
      status = 'approved' // the community approved it just before
      return refusal('post_claim.not_pending', '只能撤回待审核的申请；在岗请联系社区办理离岗', 409)
    },
  })
  const answers = []
  wx.showModal = jest.fn((o) => answers.push(o))
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  page.querySelector('.withdraw').dispatchEvent('tap')
  page.querySelector('.withdraw').dispatchEvent('tap')
  await flush()
  expect(answers).toHaveLength(1)
  answers[0].success({ confirm: true })
  await flush(30)
  expect(server.callsTo('POST /me/post-claims/8/withdraw')).toHaveLength(1)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '只能撤回待审核的申请；在岗请联系社区办理离岗' }))
  expect(server.callsTo('GET /me/post-claims')).toHaveLength(2)
  expect(pageText(page)).toContain('在岗')
  expect(page.querySelector('.withdraw')).toBeFalsy() // no stale 撤回申请 to tap again
  expect(page.data.withdrawingId).toBeNull()
})
