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

/** Show the server's Chinese message (or the network message) as a toast. */
function toastError(err) {
  wx.showToast({ title: errorMessage(err), icon: 'none', duration: 3000 })
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

module.exports = { errorMessage, toastError, toast, confirm, saveImage }
