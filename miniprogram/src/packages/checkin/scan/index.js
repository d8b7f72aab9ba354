// Check-in: scan a station's mini-program code (or arrive here from one: options.scene),
// send the location, show the result; the server's refusal message is shown as is.
const checkins = require('../../../services/checkins')
const { ApiError, NetworkError, newIdempotencyKey } = require('../../../services/request')
const { getLocation } = require('../../../utils/location')
const { sceneFromOptions, sceneFromScan, scanCode } = require('../../../utils/scene')
const handoff = require('../../../utils/handoff')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: { scene: '', busy: false, stage: '', error: '', errorCode: '' },

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
      this.setData({ error: '没有识别到驿站码，请对准驿站的小程序码重新扫描', errorCode: 'client.bad_code' })
      return
    }
    await this.checkIn(scene)
  },

  async checkIn(scene) {
    if (this.data.busy) return
    // Same scene retried after a network failure = the same logical check-in: keep its key.
    if (!this.pending || this.pending.scene !== scene) this.pending = { scene, key: newIdempotencyKey() }
    this.setData({ scene, busy: true, stage: '正在定位…', error: '', errorCode: '' })
    try {
      const loc = await getLocation()
      this.setData({ stage: '正在打卡…' })
      const result = await checkins.checkIn({ scene, lat: loc.lat, lng: loc.lng, accuracy: loc.accuracy }, { idempotencyKey: this.pending.key })
      this.pending = null
      handoff.put('checkin', result)
      wx.vibrateShort({ type: 'light' })
      wx.redirectTo({ url: '/packages/checkin/result/index' })
    } catch (err) {
      if (!(err instanceof NetworkError)) this.pending = null // refused: a new attempt is a new check-in
      this.setData({
        error: errorMessage(err),
        errorCode: err instanceof ApiError || err instanceof NetworkError ? err.code : 'unknown_error',
      })
    } finally {
      this.setData({ busy: false, stage: '' })
    }
  },

  onRetry() {
    return this.data.scene && this.data.errorCode !== 'client.bad_code' ? this.checkIn(this.data.scene) : this.onScan()
  },
})
