// services/subscribe: wx.requestSubscribeMessage must be called synchronously inside the tap
// (WeChat refuses it after a network round trip). When the page's prefetch of the template ids
// failed (a weak network), the tap must not fetch them first: it asks with what is known
// without the network, or skips this time and prefetches again for the next tap.
const { mockServer, flush, loggedIn } = require('../helpers')
const config = require('../../src/config')
const subscribe = require('../../src/services/subscribe')

const TEMPLATES = { redemption_fulfilled: 'TPL_FULFILLED', redemption_expiring: 'TPL_EXPIRING', report_status: 'TPL_REPORT' }

beforeEach(() => {
  loggedIn()
  subscribe.reset()
  for (const k of Object.keys(config.FALLBACK_TEMPLATE_IDS)) delete config.FALLBACK_TEMPLATE_IDS[k]
})

/** The subscriptions endpoint: 'network' until `state.up`, then the templates. */
function subscriptions(state) {
  return mockServer({
    'GET /me/subscriptions': () => (state.up ? { templates: TEMPLATES, credits: [] } : 'network'),
    'POST /me/subscriptions': () => ({ templates: {}, credits: [], ignored: [] }),
  })
}

/** A tap: askSubscribe() called from it; whether wx.requestSubscribeMessage ran inside it. */
function tap(moment) {
  wx.requestSubscribeMessage = jest.fn((o) => o.success(Object.fromEntries(o.tmplIds.map((id) => [id, 'accept']))))
  const asked = subscribe.askSubscribe(moment)
  return { asked, calledInTap: wx.requestSubscribeMessage.mock.calls.length }
}

test('prefetch failed earlier: the tap does not wait for the network, asks nothing this time, prefetches for the next', async () => {
  const state = { up: false }
  const server = subscriptions(state)
  await subscribe.prefetch() // the page's prefetch: the network drops it
  expect(server.callsTo('GET /me/subscriptions')).toHaveLength(1)
  state.up = true // the network is back by the time the rider taps
  const first = tap('redemption')
  expect(first.calledInTap).toBe(0)
  expect(await first.asked).toEqual([])
  await flush()
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled() // never after an await (WeChat refuses it)
  expect(server.callsTo('GET /me/subscriptions')).toHaveLength(2) // prefetched again for the next tap
  const next = tap('redemption')
  expect(next.calledInTap).toBe(1)
  expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL_FULFILLED', 'TPL_EXPIRING'])
  expect(await next.asked).toEqual(['TPL_FULFILLED', 'TPL_EXPIRING'])
  expect(server.callsTo('POST /me/subscriptions')[0].data).toEqual({ accepted: ['TPL_FULFILLED', 'TPL_EXPIRING'] })
})

test('prefetch failed: the ids the server gave on an earlier run (stored) are asked for, inside the tap', async () => {
  const state = { up: true }
  subscriptions(state)
  await subscribe.prefetch() // an earlier run
  subscribe.reset() // the app restarts…
  state.up = false
  await subscribe.prefetch() // …and this run's prefetch fails
  const t = tap('redemption')
  expect(t.calledInTap).toBe(1)
  expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL_FULFILLED', 'TPL_EXPIRING'])
  expect(await t.asked).toEqual(['TPL_FULFILLED', 'TPL_EXPIRING'])
})

test('prefetch failed and nothing stored: the configured fallback ids are asked for, inside the tap', async () => {
  const server = subscriptions({ up: false })
  config.FALLBACK_TEMPLATE_IDS.report_status = 'TPL_REPORT_CONFIGURED'
  await subscribe.prefetch()
  const t = tap('report')
  expect(t.calledInTap).toBe(1)
  expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL_REPORT_CONFIGURED'])
  await t.asked
  expect(server.callsTo('GET /me/subscriptions')).toHaveLength(2) // and the real ids fetched again
})

test('a tap while the prefetch is still in flight does not wait for it', async () => {
  let answer
  wx.request = jest.fn((opts) => {
    answer = () => opts.success({ statusCode: 200, data: { templates: TEMPLATES, credits: [] }, header: {} })
    return { abort() {} }
  })
  const loading = subscribe.prefetch()
  const t = tap('redemption')
  expect(t.calledInTap).toBe(0)
  expect(await t.asked).toEqual([])
  expect(wx.request).toHaveBeenCalledTimes(1) // the one prefetch, not a second
  answer()
  await loading
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
  expect(tap('redemption').calledInTap).toBe(1)
})
