const { ApiError } = require('../services/request')

/** The rider refused 蜂巢 the location permission (WeChat then fails at once without asking again). */
const isAuthDenied = (errMsg) => /auth den(y|ied)/i.test(errMsg || '')

// High accuracy may take at most this long before WeChat answers with what it has …
const HIGH_ACCURACY_MS = 3000
// … and the whole wait is cut off here: indoors or with location services half-off the
// callback may never come, and the page would stay on 正在定位… for good.
const LOCATION_TIMEOUT_MS = 10000

const locationFailed = () =>
  new ApiError({ code: 'client.location_failed', message: '定位失败，请到开阔处并打开手机定位后重试' })

/**
 * GCJ-02 location as a Promise; a failure becomes an ApiError with a Chinese message:
 * client.location_denied (permission refused: only the settings can undo it) or
 * client.location_failed (timeout, system location off, no fix indoors: try again).
 * It always settles within timeoutMs.
 */
function getLocation({ timeoutMs = LOCATION_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (fn, value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn(value)
    }
    const timer = setTimeout(() => settle(reject, locationFailed()), timeoutMs)
    wx.getLocation({
      type: 'gcj02',
      isHighAccuracy: true,
      highAccuracyExpireTime: HIGH_ACCURACY_MS,
      success: (res) => settle(resolve, { lat: res.latitude, lng: res.longitude, accuracy: res.accuracy }),
      fail: (err) =>
        settle(
          reject,
          isAuthDenied(err && err.errMsg)
            ? new ApiError({ code: 'client.location_denied', message: '无法获取位置，请在设置中允许蜂巢使用位置信息' })
            : locationFailed(),
        ),
    })
  })
}

/**
 * Open the mini-program's settings (call it straight from a tap) so the rider can allow the
 * location again: resolves true when it is allowed, false when not, null when the settings
 * could not be opened.
 */
function openLocationSetting() {
  return new Promise((resolve) => {
    wx.openSetting({
      success: (res) => resolve(Boolean(res && res.authSetting && res.authSetting['scope.userLocation'])),
      fail: () => resolve(null),
    })
  })
}

function chooseLocation(current) {
  return new Promise((resolve, reject) => {
    wx.chooseLocation({
      ...(current && current.lat ? { latitude: current.lat, longitude: current.lng } : {}),
      success: (res) => resolve({ lat: res.latitude, lng: res.longitude, address: res.address || res.name || '' }),
      fail: reject,
    })
  })
}

module.exports = { LOCATION_TIMEOUT_MS, getLocation, chooseLocation, openLocationSetting }
