const activities = require('../../../services/activities')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { getLocation } = require('../../../utils/location')
const { sceneFromScan, scanCode } = require('../../../utils/scene')
const { formatTime } = require('../../../utils/format')
const { serverDecided } = require('../../../services/request')
const { confirm, errorMessage, toastError } = require('../../../utils/ui')

Page({
  data: { id: null, activity: null, enrolment: null, enrolmentName: '', isFull: false, canEnrol: false, time: '', busy: false, loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id })
    prefetch()
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.activity, error: '' })
    try {
      const a = await activities.getActivity(this.data.id)
      const mine = a.my_enrolment && a.my_enrolment.status !== 'cancelled' ? a.my_enrolment : null
      this.setData({
        activity: a,
        enrolment: mine,
        enrolmentName: mine ? activities.ENROLMENT_NAMES[mine.status] || '' : '',
        isFull: a.enrolled_count >= a.capacity,
        canEnrol: a.status === 'published',
        time: `${formatTime(a.starts_at)}${a.ends_at ? ` ~ ${formatTime(a.ends_at).slice(11)}` : ''}`, loading: false })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  /** The server's message; after a refusal (a 4xx: already withdrawn, full, started…) the
   * activity changed under the page: show it as it is now, not the stale buttons. */
  async failed(err) {
    toastError(err)
    if (serverDecided(err)) await this.load()
  },

  async onEnrol() {
    if (this.acting) return
    this.acting = true
    this.setData({ busy: true })
    // WeChat opens the subscribe dialog only from the tap itself, not after a network answer
    const asked = askSubscribe('activity')
    try {
      const enrolment = await activities.enrol(this.data.id)
      await asked
      wx.showToast({ title: enrolment && enrolment.status === 'waitlisted' ? `已候补第 ${enrolment.waitlist_position} 位` : '报名成功', icon: 'none' })
      await this.load()
    } catch (err) {
      await this.failed(err)
    } finally {
      this.acting = false
      this.setData({ busy: false })
    }
  },

  async onWithdraw() {
    // busy from the tap on: a second tap while the question or the request is open does nothing
    if (this.acting) return
    this.acting = true
    this.setData({ busy: true })
    try {
      if (!(await confirm('取消报名', '确定不参加这个活动了吗？'))) return
      await activities.withdraw(this.data.id)
      await this.load()
    } catch (err) {
      await this.failed(err)
    } finally {
      this.acting = false
      this.setData({ busy: false })
    }
  },

  async onSignIn() {
    if (this.acting) return
    let res
    try {
      res = await scanCode()
    } catch {
      return
    }
    if (this.acting) return
    this.acting = true
    this.setData({ busy: true })
    try {
      const loc = await getLocation()
      const r = await activities.attend({ scene: sceneFromScan(res), lat: loc.lat, lng: loc.lng, accuracy: loc.accuracy })
      const what = r && r.action === 'signed_out' ? '签退成功' : '签到成功'
      wx.showToast({ title: r && r.points_awarded ? `${what} +${r.points_awarded} 积分` : what, icon: 'none' })
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.acting = false
      this.setData({ busy: false })
    }
  },

  onRetry() {
    return this.load()
  },
})
