// The server counts a list up to 10,000 rows (`total` is then 10,000, `total_capped` true) and
// page numbers stop at the first 10,000 rows: utils/list.js follows `has_more`, so it does not
// ask for a page past the depth (a 422 `paging.too_deep` toasted at the bottom of a long list),
// and an answer without `has_more` is read by `total` as before.
const { mockServer, load, render, flush, loggedIn } = require('../helpers')
const { moreAfter } = require('../../src/utils/list')

const id = load('packages/profile/notifications/index')
beforeEach(() => loggedIn())

const note = (n) => ({ id: n, title: `通知${n}`, body: '', is_read: true, created_at: '2024-05-01T12:00:00+08:00' })

/** 10 a page from 100000 down; page 2 is the last page numbers reach. */
function capped(req) {
  const page = Number(req.query.page || 1)
  if (page > 2) return { status: 422, body: { code: 'paging.too_deep', message: '只能按页查看前 20 条记录' } }
  const items = Array.from({ length: 10 }, (_, i) => note(100000 - (page - 1) * 10 - i))
  return { items, total: 10000, total_capped: true, has_more: page < 2, page, page_size: 10 }
}

test('a capped list stops where the server says there is no next page', async () => {
  const server = mockServer({ 'GET /me/notifications': capped })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(page.data.hasMore).toBe(true)
  await page.instance.onReachBottom()
  await flush()
  expect(page.data.items).toHaveLength(20)
  expect(page.data.hasMore).toBe(false)
  await page.instance.onReachBottom()
  await flush()
  expect(server.callsTo('GET /me/notifications').map((c) => c.query.page)).toEqual(['1', '2'])
})

test('has_more decides; without it total does', () => {
  const ten = Array.from({ length: 10 }, (_, i) => note(i))
  expect(moreAfter({ total: 10000, total_capped: true, has_more: false }, ten, ten)).toBe(false)
  expect(moreAfter({ total: 5, has_more: true }, ten, ten)).toBe(true)
  expect(moreAfter({ total: 10, has_more: true }, [], ten)).toBe(false)
  expect(moreAfter({ total: 25 }, ten, ten)).toBe(true)
  expect(moreAfter({ total: 10 }, ten, ten)).toBe(false)
})
