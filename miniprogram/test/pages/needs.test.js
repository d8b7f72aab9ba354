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
