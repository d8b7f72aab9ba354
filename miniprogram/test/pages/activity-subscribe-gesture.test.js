// 活动详情: 报名 asks for the activity reminders only after POST /enrolments has answered. WeChat
// only opens the subscribe dialog from a tap (services/subscribe.js: "must run inside the tap");
// after a network round trip it fails ("can only be invoked by user TAP gesture"), so nobody
// who enrols is ever asked, and never gets 活动提醒 / 候补转正 messages.
const { mockServer, load, render, flush, loggedIn } = require('../helpers')

const id = load('packages/activities/detail/index')
beforeEach(() => loggedIn())

// WeChat's rule, modelled: the dialog may open while the tap's own turn runs (its microtasks
// included), not from a later callback such as a request's answer.
let tapActive = false
function tap(node) {
  tapActive = true
  setTimeout(() => {
    tapActive = false
  }, 0)
  node.dispatchEvent('tap')
}

test('enrolling asks for the activity reminders (from the tap)', async () => {
  wx.requestSubscribeMessage = jest.fn((o) => {
    if (!tapActive) return o.fail({ errMsg: 'requestSubscribeMessage:fail can only be invoked by user TAP gesture.' })
    return o.success({ TPL_ACT: 'accept' })
  })
  let enrolled = false
  const server = mockServer({
    'GET /me/subscriptions': () => ({ templates: { activity_reminder: 'TPL_ACT' }, credits: [] }),
    'POST /me/subscriptions': () => ({ ok: true }),
    'GET /activities/:id': () => ({ id: 4, title: '环境清洁日', starts_at: '2030-05-10T06:00:00Z', status: 'published', capacity: 20, enrolled_count: enrolled ? 1 : 0, my_enrolment: enrolled ? { id: 7, status: 'enrolled' } : null }),
    'POST /activities/:id/enrolments': () => {
      enrolled = true
      return { status: 201, body: { id: 7, status: 'enrolled' } }
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await flush()
  tap(page.querySelector('.enrol'))
  await flush(30)
  expect(server.callsTo('POST /activities/4/enrolments')).toHaveLength(1)
  expect(wx.requestSubscribeMessage).toHaveBeenCalled()
  expect(server.callsTo('POST /me/subscriptions')).toHaveLength(1) // the accepted template was reported
})
