// Small UI helpers shared by pages.
function errorMessage(err) {
  return (err && err.message) || '出错了，请稍后重试'
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

module.exports = { errorMessage, toastError, toast, confirm }
