// 岗位认领: loadClaims had no latest-wins: the slow answer of the first load, arriving after the
// reload that followed a claim, replaced the list and hid the new (withdrawable) claim.
const { heldServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/posts/index')
beforeEach(() => loggedIn())

// answer the LAST held request whose URL contains `part` (a newer one overtaking an older one)
function answerLatest(server, part, body) {
  let i = -1
  server.held.forEach((o, j) => { if (o.url.includes(part)) i = j })
  const [opts] = server.held.splice(i, 1)
  opts.success({ statusCode: 200, data: body, header: {} })
}

test('a slow first "my claims" answer does not hide the claim just made (weak network)', async () => {
  const server = heldServer()
  const page = render(id)
  const loading = page.instance.onLoad() // GET /posts and GET /me/post-claims (slow)
  server.answer('/posts?', { items: [{ id: 2, name: '流动网格员', description: '', capacity: 5, holder_count: 2, duty_points: 10, my_claim: null }], total: 1 })
  await flush()
  const claiming = page.instance.onClaim({ currentTarget: { dataset: { id: 2 } } })
  await flush()
  server.answer('/posts/2/claims', { id: 8, post_id: 2, post_name: '流动网格员', status: 'pending', status_name: '待审核', created_at: '2024-05-01T12:00:00+08:00' })
  await claiming
  await flush()
  // the claim's reload of my claims is answered first, then the page's first (stale) one
  answerLatest(server, '/me/post-claims', { items: [{ id: 8, post_id: 2, post_name: '流动网格员', status: 'pending', status_name: '待审核', created_at: '2024-05-01T12:00:00+08:00' }], total: 1 })
  await flush()
  expect(page.querySelectorAll('.withdraw')).toHaveLength(1) // shown…
  server.answer('/me/post-claims', { items: [], total: 0 })
  await loading
  await flush()
  expect(pageText(page)).toContain('我的认领')
  expect(page.querySelectorAll('.withdraw')).toHaveLength(1) // the pending claim can be withdrawn
})
