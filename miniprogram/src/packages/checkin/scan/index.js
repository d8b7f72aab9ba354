// Check-in: scan a station's mini-program code (or arrive here from one: options.scene),
// send the location, show the result; the server's refusal message is shown as is.
const checkins = require('../../../services/checkins')
const { ApiError, NetworkError, newIdempotencyKey, serverDecided } = require('../../../services/request')
const { getLocation, openLocationSetting } = require('../../../utils/location')
const { sceneFromOptions, sceneFromScan, scanCode } = require('../../../utils/scene')
const handoff = require('../../../utils/handoff')
const { errorMessage } = require('../../../utils/ui')

// Refusals that another try at the same code can get past (move closer, better GPS, wait),
// and failures where the server never decided: 重新打卡 sends the same scene again.
const SAME_SCENE = [
  'checkin.out_of_range',
  'checkin.poor_accuracy',
  'checkin.impossible_travel',
  'checkin.rate_limited',
  'client.location_failed',
  'network_error',
]

/** What the refusal's button does: 'setting' (allow the location, then check in again),
 * 'checkin' (the same scene again) or 'scan' (open the scanner: a wrong, changed or
 * disabled code, or nothing more to get at this one). */
function retryFor(err) {
  const code = err && err.code
  if (code === 'client.location_denied') return { retry: 'setting', retryText: '去设置开启定位' }
  if (SAME_SCENE.includes(code) || (err instanceof ApiError && err.status >= 500)) return { retry: 'checkin', retryText: '重新打卡' }
  return { retry: 'scan', retryText: '重新扫码' }
}

Page({
  data: { scene: '', busy: false, stage: '', error: '', errorCode: '', retry: '', retryText: '' },

  onLoad(options = {}) {
    const scene = sceneFromOptions(options)
    if (scene) return this.checkIn(scene)
    if (options.start) return this.onScan()
    return undefined
  },

  async onScan() {
    let res
    try {
      res = await scanCode()
    } catch {
      return // cancelled
    }
    const scene = sceneFromScan(res)
    if (!scene) {
      this.setData({ error: '没有识别到驿站码，请对准驿站的小程序码重新扫描', errorCode: 'client.bad_code', retry: 'scan', retryText: '重新扫码' })
      return
    }
    await this.checkIn(scene)
  },

  async checkIn(scene) {
    if (this.data.busy) return
    // The same scene tried again = the same logical check-in: keep its key until the server
    // has decided it (a POST that timed out or got a 5xx may have committed; a retry replays it).
    if (!this.pending || this.pending.scene !== scene) this.pending = { scene, key: newIdempotencyKey() }
    this.setData({ scene, busy: true, stage: '正在定位…', error: '', errorCode: '' })
    let sent = false
    try {
      const loc = await getLocation()
      this.setData({ stage: '正在打卡…' })
      sent = true
      const result = await checkins.checkIn({ scene, lat: loc.lat, lng: loc.lng, accuracy: loc.accuracy }, { idempotencyKey: this.pending.key })
      this.pending = null
      handoff.put('checkin', result)
      wx.vibrateShort({ type: 'light' })
      wx.redirectTo({ url: '/packages/checkin/result/index' })
    } catch (err) {
      if (sent && serverDecided(err)) this.pending = null // refused: a new attempt is a new check-in
      this.setData({
        error: errorMessage(err),
        errorCode: err instanceof ApiError || err instanceof NetworkError ? err.code : 'unknown_error',
        ...retryFor(err),
      })
    } finally {
      this.setData({ busy: false, stage: '' })
    }
  },

  async onRetry() {
    const { scene, retry } = this.data
    if (retry === 'setting') {
      // Once refused, WeChat no longer asks: only the settings can allow the location again.
      if ((await openLocationSetting()) === false) return undefined
      return scene ? this.checkIn(scene) : this.onScan()
    }
    return retry === 'checkin' && scene ? this.checkIn(scene) : this.onScan()
  },
})
