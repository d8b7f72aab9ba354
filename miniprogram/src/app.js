const auth = require('./services/auth')
const drafts = require('./services/drafts')
const { sweepPhotos } = require('./utils/photos')

App({
  onLaunch() {
    // Silent login up front; request.js also re-logs in on any 401.
    auth.ensureLogin().catch(() => {})
    drafts.startAutoFlush()
    // Saved photos no draft holds any more (an app killed mid-form) would fill WeChat's
    // 10 MB of saved files: removed once they are a day old.
    try {
      sweepPhotos(drafts.photoPaths())
    } catch {
      // unreadable drafts: nothing is removed
    }
  },
  onShow() {
    // Report drafts queued while offline go out as soon as the app is back.
    drafts.flushPending().catch(() => {})
  },
})
