// Station / activity mini-program codes carry a `scene` (≤32 chars, URL-encoded in options).

/** The scene from page options (opened by a mini-program code). */
function sceneFromOptions(options) {
  if (!options || !options.scene) return ''
  try {
    return decodeURIComponent(options.scene)
  } catch {
    return options.scene
  }
}

/** The scene from a wx.scanCode result: a mini-program code gives `path` (…?scene=…). */
function sceneFromScan(res) {
  if (!res) return ''
  const source = res.path || ''
  const m = /[?&]scene=([^&]*)/.exec(source)
  if (m) return sceneFromOptions({ scene: m[1] })
  return (res.result || '').trim()
}

function scanCode() {
  return new Promise((resolve, reject) => {
    wx.scanCode({ onlyFromCamera: true, success: resolve, fail: reject })
  })
}

module.exports = { sceneFromOptions, sceneFromScan, scanCode }
