// Subscribe messages: must be called from a tap handler; each acceptance allows one message.
const config = require('../config')
const notifications = require('./notifications')

/** Ask for the given templates (keys of config.SUBSCRIBE_TEMPLATES); report accepted ids. Never throws. */
function askSubscribe(keys) {
  const tmplIds = keys.map((k) => config.SUBSCRIBE_TEMPLATES[k]).filter(Boolean).slice(0, 3)
  if (!tmplIds.length || !wx.requestSubscribeMessage) return Promise.resolve([])
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => resolve(tmplIds.filter((id) => res[id] === 'accept')),
      fail: () => resolve([]),
    })
  }).then(async (accepted) => {
    if (accepted.length) {
      try {
        await notifications.saveSubscriptions(accepted)
      } catch {
        // the in-app inbox still works; nothing to tell the user
      }
    }
    return accepted
  })
}

module.exports = { askSubscribe }
