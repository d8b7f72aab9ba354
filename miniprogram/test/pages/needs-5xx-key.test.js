// 困难与建议: a 502/504 from the gateway after the server saved the need is an unknown outcome,
// but the page throws the Idempotency-Key away on anything but a NetworkError, so 提交 again
// files the same need a second time.
const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/needs/index')
beforeEach(() => loggedIn())

test('a retry after a 504 (the need may be saved) reuses the Idempotency-Key', async () => {
  const saved = new Map() // key → need, as the server's unique (user, key)
  let gatewayTimeout = true
  const server = mockServer({
    'GET /me/needs': () => ({ items: [...saved.values()], total: saved.size }),
    'POST /needs': (req) => {
      const key = req.header['Idempotency-Key']
      if (!saved.has(key)) saved.set(key, { id: saved.size + 1, kind: req.data.kind, content: req.data.content, status: 'open' })
      if (gatewayTimeout) {
        gatewayTimeout = false // committed, but the answer is lost at the gateway
        return { status: 504, body: '<html>504 Gateway Time-out</html>' }
      }
      return { status: 201, body: saved.get(key) }
    },
  })
  const page = render(id)
  page.instance.onInput({ detail: { value: '希望驿站晚上多开一小时' } })
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('服务暂时不可用')
  await page.instance.onSubmit() // the resident taps 提交 again
  await flush()
  const calls = server.callsTo('POST /needs')
  expect(calls).toHaveLength(2)
  expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
  expect(saved.size).toBe(1) // one need, not two
})
