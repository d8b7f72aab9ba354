// Check-in: scan a station's mini-program code (or arrive here from one: options.scene),
// send the location, show the result; the server's refusal message is shown as is.
// After a 429 the retry button waits out the server's Retry-After with a countdown.
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

// A 429 without a (readable) Retry-After waits this long; a longer one is cut to the cap.
const RATE_LIMIT_DEFAULT_S = 60
const RATE_LIMIT_MAX_S = 600

/** Seconds to wait before the retry may be tapped: 0 unless the server said 429. */
function waitFor(err) {
  if (!(err instanceof ApiError) || err.status !== 429) return 0
  const seconds = err.retryAfter > 0 ? Math.ceil(err.retryAfter) : RATE_LIMIT_DEFAULT_S
  return Math.min(seconds, RATE_LIMIT_MAX_S)
}

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
  // waitSeconds > 0: a 429's countdown, the retry button is disabled until it reaches 0.
  data: { scene: '', busy: false, stage: '', error: '', errorCode: '', retry: '', retryText: '', waitSeconds: 0 },

  onLoad(options = {}) {
    const scene = sceneFromOptions(options)
    if (scene) return this.checkIn(scene)
    if (options.start) return this.onScan()
    return undefined
  },

  onShow() {
    // No timer runs while hidden: count from the deadline, so the time away counts.
    this.hidden = false
    if (this.waitUntil) this.tickWait()
  },

  onHide() {
    this.hidden = true
    clearTimeout(this.waitTimer)
    this.waitTimer = null
  },

  onUnload() {
    this.unloaded = true
    this.stopWait()
  },

  /** Start the countdown: the retry stays disabled until Date.now() reaches the deadline. */
  startWait(seconds) {
    this.stopWait()
    if (!seconds || this.unloaded) return
    this.waitUntil = Date.now() + seconds * 1000
    this.tickWait()
  },

  /** Show the whole seconds left and wake up again when the next one has passed (one timer). */
  tickWait() {
    clearTimeout(this.waitTimer)
    this.waitTimer = null
    if (this.unloaded) return
    const left = this.waitUntil ? this.waitUntil - Date.now() : 0
    if (left <= 0) {
      this.waitUntil = 0
      if (this.data.waitSeconds) this.setData({ waitSeconds: 0 })
      return
    }
    const seconds = Math.ceil(left / 1000)
    if (seconds !== this.data.waitSeconds) this.setData({ waitSeconds: seconds })
    if (!this.hidden) this.waitTimer = setTimeout(() => this.tickWait(), left - (seconds - 1) * 1000)
  },

  stopWait() {
    clearTimeout(this.waitTimer)
    this.waitTimer = null
    this.waitUntil = 0
  },

  /** True while a 429's countdown runs (by the clock, not by the last tick shown). */
  waiting() {
    return Boolean(this.waitUntil) && Date.now() < this.waitUntil
  },

  async onScan() {
    this.stopWait()
    if (this.data.waitSeconds) this.setData({ waitSeconds: 0 })
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
    this.stopWait()
    // The same scene tried again = the same logical check-in: keep its key until the server
    // has decided it (a POST that timed out or got a 5xx may have committed; a retry replays it).
    if (!this.pending || this.pending.scene !== scene) this.pending = { scene, key: newIdempotencyKey() }
    this.setData({ scene, busy: true, stage: '正在定位…', error: '', errorCode: '', waitSeconds: 0 })
    let sent = false
    try {
      const loc = await getLocation()
      this.setData({ stage: '正在打卡…' })
      sent = true
      const result = await checkins.checkIn({ scene, lat: loc.lat, lng: loc.lng, accuracy: loc.accuracy }, { idempotencyKey: this.pending.key })
      this.pending = null
      handoff.put('checkin', result)
      wx.vibrateShort({ type: 'light' })
      if (this.unloaded) {
        // the rider left while it was on its way: redirectTo would replace whatever page is
        // on top now; the check-in stands, say so where they are
        wx.showToast({ title: result.message || '打卡成功', icon: 'none' })
        return
      }
      wx.redirectTo({ url: '/packages/checkin/result/index' })
    } catch (err) {
      if (sent && serverDecided(err)) this.pending = null // refused: a new attempt is a new check-in
      this.setData({
        error: errorMessage(err),
        errorCode: err instanceof ApiError || err instanceof NetworkError ? err.code : 'unknown_error',
        ...retryFor(err),
      })
      this.startWait(waitFor(err))
    } finally {
      this.setData({ busy: false, stage: '' })
    }
  },

  async onRetry() {
    // A disabled button may still deliver the tap: the countdown is checked here too.
    if (this.waiting()) return undefined
    const { scene, retry } = this.data
    if (retry === 'setting') {
      // Once refused, WeChat no longer asks: only the settings can allow the location again.
      if ((await openLocationSetting()) === false) return undefined
      return scene ? this.checkIn(scene) : this.onScan()
    }
    return retry === 'checkin' && scene ? this.checkIn(scene) : this.onScan()
  },
})
