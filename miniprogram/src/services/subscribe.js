// Subscribe messages. The server says which template to request per notification kind
// (GET /me/subscriptions → {templates: {kind: template_id}, credits}); we ask the user for the
// kinds that matter at this moment and report what was accepted (POST /me/subscriptions).
// wx.requestSubscribeMessage must run inside the tap: call prefetch() when the page loads so
// askSubscribe() finds the template ids without waiting for the network.
const notifications = require('./notifications')

// The moments we ask at, as the server's notification kinds.
const MOMENTS = {
  report: ['report_status', 'report_feedback_request'],
  redemption: ['redemption_fulfilled', 'redemption_expiring'],
  activity: ['activity_reminder', 'activity_cancelled', 'activity_waitlist_promoted'],
  staffOnDuty: ['work_order_new', 'work_order_assigned', 'work_order_overdue'],
}

let templates = null
let loading = null

/** Load (once) the template id per kind; never throws. */
function prefetch() {
  if (templates) return Promise.resolve(templates)
  if (!loading) {
    loading = notifications
      .getSubscriptions()
      .then((res) => {
        templates = (res && res.templates) || {}
        return templates
      })
      .catch(() => ({}))
      .finally(() => {
        loading = null
      })
  }
  return loading
}

/** The distinct template ids for these kinds (at most 3, WeChat's limit per request). */
function templateIds(kinds, known = templates || {}) {
  const ids = []
  for (const kind of kinds) {
    const id = known[kind]
    if (id && !ids.includes(id)) ids.push(id)
  }
  return ids.slice(0, 3)
}

function request(tmplIds) {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => resolve(tmplIds.filter((id) => res[id] === 'accept')),
      fail: () => resolve([]),
    })
  })
}

/** Ask for a moment (a key of MOMENTS) or a list of kinds; resolves with the accepted ids. Never throws. */
async function askSubscribe(momentOrKinds) {
  if (!wx.requestSubscribeMessage) return []
  const kinds = Array.isArray(momentOrKinds) ? momentOrKinds : MOMENTS[momentOrKinds] || []
  const known = templates || (await prefetch())
  const tmplIds = templateIds(kinds, known)
  if (!tmplIds.length) return []
  const accepted = await request(tmplIds)
  if (accepted.length) {
    try {
      await notifications.saveSubscriptions(accepted)
    } catch {
      // the in-app inbox still works; nothing to tell the user
    }
  }
  return accepted
}

/** Forget the cached templates (tests, logout). */
function reset() {
  templates = null
}

module.exports = { MOMENTS, prefetch, templateIds, askSubscribe, reset }
