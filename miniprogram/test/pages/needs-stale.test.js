// 问需: loadMine had no latest-wins: the slow answer of the first load, arriving after the reload
// that followed sending, replaced the list and hid the need just sent.
const { heldServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/needs/index')
beforeEach(() => loggedIn())

test('a slow first "my needs" answer does not hide the need just sent (weak network)', async () => {
  const server = heldServer()
  const page = render(id)
  const loading = page.instance.onLoad() // GET /me/needs, slow
  page.instance.onInput({ detail: { value: '希望驿站晚上多开一小时' } })
  const sending = page.instance.onSubmit()
  await flush()
  const need = { id: 5, kind: 'community_suggestion', kind_name: '社区建议', content: '希望驿站晚上多开一小时', status: 'open', answer: null, created_at: '2024-05-02T04:00:00Z' }
  server.answer('v1/needs', need)
  await sending
  await flush()
  // the reload after sending is answered first…
  const i = server.held.map((o) => o.url.includes('/me/needs')).lastIndexOf(true)
  server.held.splice(i, 1)[0].success({ statusCode: 200, data: { items: [need], total: 1 }, header: {} })
  await flush()
  expect(pageText(page)).toContain('我提交的')
  // …then the page's first, older answer arrives
  server.answer('/me/needs', { items: [], total: 0 })
  await loading
  await flush()
  expect(pageText(page)).toContain('我提交的')
  expect(pageText(page)).toContain('希望驿站晚上多开一小时')
})
