const activities = require('../../../services/activities')
const { askSubscribe } = require('../../../services/subscribe')
const { getLocation } = require('../../../utils/location')
const { sceneFromScan, scanCode } = require('../../../utils/scene')
const { formatTime } = require('../../../utils/format')
const { confirm, errorMessage, toastError } = require('../../../utils/ui')

Page({
  data: { id: null, activity: null, time: '', busy: false, loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id })
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.activity, error: '' })
    try {
      const a = await activities.getActivity(this.data.id)
      this.setData({ activity: a, time: `${formatTime(a.starts_at)}${a.ends_at ? ` ~ ${formatTime(a.ends_at).slice(11)}` : ''}`, loading: false })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  async onEnrol() {
    this.setData({ busy: true })
    try {
      await activities.enrol(this.data.id)
      wx.showToast({ title: '报名成功', icon: 'success' })
      askSubscribe(['activityReminder'])
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ busy: false })
    }
  },

  async onWithdraw() {
    if (!(await confirm('取消报名', '确定不参加这个活动了吗？'))) return
    this.setData({ busy: true })
    try {
      await activities.withdraw(this.data.id)
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ busy: false })
    }
  },

  async onSignIn() {
    let res
    try {
      res = await scanCode()
    } catch {
      return
    }
    this.setData({ busy: true })
    try {
      const loc = await getLocation()
      const r = await activities.attend({ scene: sceneFromScan(res), lat: loc.lat, lng: loc.lng })
      wx.showToast({ title: r && r.points_awarded ? `签到成功 +${r.points_awarded} 积分` : '签到成功', icon: 'none' })
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ busy: false })
    }
  },

  onRetry() {
    return this.load()
  },
})
