const auth = require('./services/auth')
const drafts = require('./services/drafts')

App({
  onLaunch() {
    // Silent login up front; request.js also re-logs in on any 401.
    auth.ensureLogin().catch(() => {})
    drafts.startAutoFlush()
  },
  onShow() {
    // Report drafts queued while offline go out as soon as the app is back.
    drafts.flushPending().catch(() => {})
  },
})
