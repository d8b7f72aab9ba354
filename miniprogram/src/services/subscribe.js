// Subscribe messages. The server says which template to request per notification kind
// (GET /me/subscriptions → {templates: {kind: template_id}, credits}); we ask the user for the
// kinds that matter at this moment and report what was accepted (POST /me/subscriptions).
// wx.requestSubscribeMessage must run inside the tap (WeChat refuses it after a network round
// trip): call prefetch() when the page loads; askSubscribe() never waits for the network, it
// asks with the ids known at the tap (this run's, else the last ones stored, else config's
// fallback) or not at all that time, and prefetches again for the next tap.
const config = require('../config')
const notifications = require('./notifications')

// The moments we ask at, as the server's notification kinds.
const MOMENTS = {
  report: ['report_status', 'report_feedback_request'],
  redemption: ['redemption_fulfilled', 'redemption_expiring'],
  activity: ['activity_reminder', 'activity_cancelled', 'activity_waitlist_promoted'],
  staffOnDuty: ['work_order_new', 'work_order_assigned', 'work_order_overdue'],
  need: ['need_answered'],
}

// The server's last answer, kept for a later run whose prefetch fails (a weak network).
const TEMPLATES_KEY = 'fengchao.subscribeTemplates'

let templates = null
let loading = null

function storedTemplates() {
  try {
    const stored = wx.getStorageSync(TEMPLATES_KEY)
    return stored && typeof stored === 'object' ? stored : null
  } catch {
    return null
  }
}

/** Load (once) the template id per kind; never throws. */
function prefetch() {
  if (templates) return Promise.resolve(templates)
  if (!loading) {
    loading = notifications
      .getSubscriptions()
      .then((res) => {
        templates = (res && res.templates) || {}
        try {
          wx.setStorageSync(TEMPLATES_KEY, templates)
        } catch {
          // storage full: this run still has them
        }
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

/** The template ids known without the network: this run's, else the server's last answer
 * stored on the phone, else the configured fallback. */
function knownTemplates() {
  return templates || storedTemplates() || config.FALLBACK_TEMPLATE_IDS || {}
}

/**
 * Ask for a moment (a key of MOMENTS) or a list of kinds; resolves with the accepted ids. Never
 * throws. Call it from the tap itself: wx.requestSubscribeMessage is called synchronously, before
 * anything is awaited; with no ids known yet it asks nothing this time (and prefetches again).
 */
async function askSubscribe(momentOrKinds) {
  if (!wx.requestSubscribeMessage) return []
  const kinds = Array.isArray(momentOrKinds) ? momentOrKinds : MOMENTS[momentOrKinds] || []
  const tmplIds = templateIds(kinds, knownTemplates())
  const asking = tmplIds.length ? request(tmplIds) : null // synchronous: still inside the tap
  if (!templates) prefetch() // the earlier prefetch failed: for the next tap, not awaited here
  if (!asking) return []
  const accepted = await asking
  if (accepted.length) {
    try {
      await notifications.saveSubscriptions(accepted)
    } catch {
      // the in-app inbox still works; nothing to tell the user
    }
  }
  return accepted
}

/** Forget this run's templates (tests); the ones stored on the phone stay as a fallback. */
function reset() {
  templates = null
}

module.exports = { MOMENTS, TEMPLATES_KEY, prefetch, templateIds, askSubscribe, reset }
