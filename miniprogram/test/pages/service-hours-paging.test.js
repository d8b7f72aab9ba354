// /me/service-hours is paged (20 rows a page): a volunteer with more activities than that must
// see the rest by scrolling down, with the totals (hours, activity count) from the answer.
const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/service-hours/index')
const row = (i) => ({ activity_id: i, title: `活动 ${i}`, starts_at: '2024-05-01T09:00:00+08:00', service_hours: 2 })

test('scrolling to the bottom loads the activities after the first page; totals stay the answer\'s', async () => {
  loggedIn()
  const server = mockServer({
    'GET /me/service-hours': (req) => {
      const page = Number(req.query.page || 1)
      const rows = page === 1 ? Array.from({ length: 20 }, (_, i) => row(i + 1)) : Array.from({ length: 5 }, (_, i) => row(i + 21))
      return { total_minutes: 3000, total_hours: 50, activity_count: 25, items: rows, total: 25, page, page_size: 20 }
    },
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(page.data.items).toHaveLength(20)
  expect(page.data.hasMore).toBe(true)
  expect(page.querySelector('.total').dom.textContent).toBe('50')
  await page.instance.onReachBottom()
  await flush()
  expect(server.callsTo('GET /me/service-hours').map((c) => c.query.page)).toEqual(['1', '2'])
  expect(page.data.items).toHaveLength(25)
  expect(pageText(page)).toContain('活动 25')
  expect(page.querySelector('.total').dom.textContent).toBe('50') // hours, not the row count
  expect(page.data.hasMore).toBe(false)
  expect(pageText(page)).toContain('没有更多了')
  await page.instance.onReachBottom() // nothing more to ask for
  await flush()
  expect(server.callsTo('GET /me/service-hours')).toHaveLength(2)
})
