// Small UI helpers shared by pages.

/** The first per-field hint in a 422's details.errors ({json: {scene: ['长度应在 1 到 128 之间']}}). */
function firstFieldHint(errors, depth = 0) {
  if (typeof errors === 'string') return errors.trim()
  if (!errors || typeof errors !== 'object' || depth > 5) return ''
  const values = Array.isArray(errors) ? errors : Object.values(errors)
  for (const v of values) {
    const hint = firstFieldHint(v, depth + 1)
    if (hint) return hint
  }
  return ''
}

function errorMessage(err) {
  const message = (err && err.message) || '出错了，请稍后重试'
  if (!err || err.status !== 422) return message
  const errors = err.details && err.details.errors
  const hint = errors ? firstFieldHint(errors.json || errors.query || errors.form || errors) : ''
  return hint && !message.includes(hint) ? `${message.replace(/[。.！!]$/, '')}：${hint}` : message
}

// wx.showToast without an icon shows at most two lines (≈14 汉字 each) and cuts the rest:
// the part that says what to do ("…请稍后在驿站现场重新扫码") is what gets lost.
const TOAST_MAX_WIDTH = 28

/** How wide a text is in 汉字: ASCII and other Latin letters half, everything from
 * U+1100 on (CJK, full-width marks, “”…—, emoji) one, half-width forms half. */
function displayWidth(text) {
  let width = 0
  for (const ch of String(text)) {
    const code = ch.codePointAt(0)
    width += code >= 0x1100 && !(code >= 0xff61 && code <= 0xffdc) ? 1 : 0.5
  }
  return width
}

/** Show the server's Chinese message (or the network message): a toast when it fits in
 * one, else a dialog that keeps the whole message until the rider has read it. */
function toastError(err) {
  const message = errorMessage(err)
  if (displayWidth(message) > TOAST_MAX_WIDTH) {
    wx.showModal({ title: '提示', content: message, showCancel: false, confirmText: '知道了' })
  } else {
    wx.showToast({ title: message, icon: 'none', duration: 3000 })
  }
}

function toast(title) {
  wx.showToast({ title, icon: 'success' })
}

function confirm(title, content) {
  return new Promise((resolve) => {
    wx.showModal({ title, content, success: (res) => resolve(Boolean(res && res.confirm)), fail: () => resolve(false) })
  })
}

/** Save a downloaded image to the album; a refused permission says where to turn it back on. */
function saveImage(filePath) {
  return new Promise((resolve) => {
    wx.saveImageToPhotosAlbum({
      filePath,
      success: () => {
        toast('已保存到相册')
        resolve(true)
      },
      fail: (err) => {
        const denied = /auth|deny|denied/i.test((err && err.errMsg) || '')
        if (denied) wx.showModal({ title: '无法保存', content: '请在右上角「…」→ 设置中允许保存到相册', showCancel: false })
        else if (!/cancel/i.test((err && err.errMsg) || '')) wx.showToast({ title: '保存失败，请重试', icon: 'none' })
        resolve(false)
      },
    })
  })
}

module.exports = { errorMessage, toastError, displayWidth, toast, confirm, saveImage }
