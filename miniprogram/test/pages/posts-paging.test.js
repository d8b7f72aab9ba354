// The server pages the governance posts (20 a page): the page used to list only the first 20.
const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/posts/index')
beforeEach(() => loggedIn())

const post = (n) => ({ id: n, name: `岗位${n}`, description: '', capacity: 5, holder_count: 1, duty_points: 0, my_claim: null })
/** Like the server: 20 a page, `total` over all pages. */
const postsPages = (count) => (req) => {
  const page = Number(req.query.page || 1)
  const all = Array.from({ length: count }, (_, i) => post(i + 1))
  return { items: all.slice((page - 1) * 20, page * 20), total: count, page, page_size: 20 }
}

test('reaching the bottom loads the next page of posts, and stops at the last', async () => {
  const server = mockServer({ 'GET /posts': postsPages(25), 'GET /me/post-claims': () => ({ items: [], total: 0 }) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(page.querySelectorAll('.post')).toHaveLength(20)
  expect(pageText(page)).not.toContain('岗位21')
  await page.instance.onReachBottom()
  await flush()
  expect(page.querySelectorAll('.post')).toHaveLength(25)
  expect(pageText(page)).toContain('岗位25')
  expect(pageText(page)).toContain('没有更多了')
  await page.instance.onReachBottom() // all shown: nothing more to ask
  await flush()
  expect(server.callsTo('GET /posts').map((c) => c.query.page)).toEqual(['1', '2'])
})

test('a claim on a post of the second page updates that post', async () => {
  mockServer({
    'GET /posts': postsPages(25),
    'GET /me/post-claims': () => ({ items: [], total: 0 }),
    'POST /posts/:id/claims': (req) => ({ status: 201, body: { id: 90, post_id: Number(req.params[0]), status: 'pending', status_name: '待审核', created_at: '2024-05-01T12:00:00+08:00' } }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  await page.instance.onReachBottom()
  await flush()
  await page.instance.onClaim({ currentTarget: { dataset: { id: 23 } } })
  await flush()
  const claimed = page.data.items.find((p) => p.id === 23)
  expect(claimed.claimName).toBe('待审核')
})
