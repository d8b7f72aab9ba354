// utils/list.js loadList: a second onReachBottom while the first "more" is still loading
// fetches the same page again, and new items arriving between pages shift the offset pages:
// either way the same notification is listed twice.
const { mockServer, load, render, flush, loggedIn } = require('../helpers')

const id = load('packages/profile/notifications/index')
beforeEach(() => loggedIn())

const note = (n) => ({ id: n, title: `通知${n}`, body: '', is_read: true, created_at: '2024-05-01T12:00:00+08:00' })
/** Newest first, 10 a page, like the server (ORDER BY created_at DESC, offset pages). */
function inbox(ids) {
  return (req) => {
    const page = Number(req.query.page || 1)
    const sorted = ids.slice().sort((a, b) => b - a)
    return { items: sorted.slice((page - 1) * 10, page * 10).map(note), total: sorted.length, page, page_size: 10 }
  }
}

const dupes = (items) => items.map((i) => i.id).filter((v, i, a) => a.indexOf(v) !== i)

test('reaching the bottom twice while page 2 loads does not list page 2 twice', async () => {
  const ids = Array.from({ length: 25 }, (_, i) => i + 1)
  const server = mockServer({ 'GET /me/notifications': inbox(ids) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(page.data.items).toHaveLength(10)
  // weak network: the rider scrolls up a little and down again before page 2 arrives
  const a = page.instance.onReachBottom()
  const b = page.instance.onReachBottom()
  await Promise.all([a, b])
  await flush()
  expect(dupes(page.data.items)).toEqual([])
  expect(server.callsTo('GET /me/notifications').map((c) => c.query.page)).toEqual(['1', '2'])
})

test('a notification arriving between pages does not show an old one twice', async () => {
  const ids = Array.from({ length: 25 }, (_, i) => i + 1)
  mockServer({ 'GET /me/notifications': inbox(ids) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  ids.push(26) // a new notification lands at the top of page 1 on the server
  await page.instance.onReachBottom()
  await flush()
  expect(dupes(page.data.items)).toEqual([])
})
