const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/activities/needs/index')
beforeEach(() => loggedIn())

test('submits a need of a server kind; a network retry reuses the key', async () => {
  let online = false
  const server = mockServer({ 'POST /needs': () => (online ? { id: 1, kind: 'employment', kind_name: '就业', status: 'open' } : 'network') })
  const page = render(id)
  all(page, '.kind')[0].dispatchEvent('tap') // 就业
  await flush()
  page.instance.onInput({ detail: { value: '希望驿站晚上多开一小时' } })
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
  online = true
  await page.instance.onSubmit()
  await flush()
  const calls = server.callsTo('POST /needs')
  expect(calls[1].data).toEqual({ kind: 'employment', content: '希望驿站晚上多开一小时' })
  expect(calls[0].header['Idempotency-Key']).toBe(calls[1].header['Idempotency-Key'])
  expect(pageText(page)).toContain('已收到')
})

test('empty content is refused locally; server refusal is shown', async () => {
  const server = mockServer({ 'POST /needs': () => refusal('content.rejected', '内容未通过安全检测，请修改', 422) })
  const page = render(id)
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('请写下您的困难、需求或建议')
  expect(server.calls).toHaveLength(0)
  page.instance.onInput({ detail: { value: 'xx' } })
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('内容未通过安全检测，请修改')
})

test('my needs with the community answer', async () => {
  mockServer({
    'GET /me/needs': () => ({
      items: [
        { id: 2, kind: 'employment', kind_name: '就业', content: '想找夜班工作', status: 'open', answer: null, created_at: '2024-05-02T04:00:00Z' },
        { id: 1, kind: 'community_suggestion', kind_name: '社区建议', content: '驿站晚上多开一小时', status: 'answered', answer: '已延长到22点', answered_at: '2024-05-01T10:00:00Z', created_at: '2024-05-01T04:00:00Z' },
      ],
      total: 2,
    }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  const t = pageText(page)
  expect(t).toContain('我提交的')
  expect(t).toContain('想找夜班工作')
  expect(t).toContain('待答复')
  expect(t).toContain('社区答复：已延长到22点')
})

test('my needs refused: the message is shown, the form still works', async () => {
  mockServer({ 'GET /me/needs': () => refusal('auth.not_registered', '请先完成社区报到', 403) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('请先完成社区报到')
  expect(page.querySelector('.submit')).toBeTruthy()
})

test('sending a need asks, inside the tap, for the answer by WeChat', async () => {
  wx.requestSubscribeMessage = jest.fn((o) => o.success({ TPL_NEED: 'accept' }))
  const server = mockServer({
    'GET /me/subscriptions': () => ({ templates: { need_answered: 'TPL_NEED' }, credits: [] }),
    'POST /me/subscriptions': () => ({ ok: true }),
    'GET /me/needs': () => ({ items: [], total: 0 }),
    'POST /needs': () => ({ id: 1, kind: 'employment', kind_name: '就业', status: 'open' }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  page.instance.onInput({ detail: { value: '希望驿站晚上多开一小时' } })
  const sent = page.instance.onSubmit()
  expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1) // before anything was awaited
  expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL_NEED'])
  await sent
  await flush()
  expect(server.callsTo('POST /needs')).toHaveLength(1)
  expect(server.callsTo('POST /me/subscriptions')).toHaveLength(1)
})
