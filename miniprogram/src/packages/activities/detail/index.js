// 活动详情: opened from the list (options.id), from a notification, or by scanning the activity's
// printed sign-in code with WeChat's camera: a mini-program code (server/activities/qr.py)
// whose page is this one and whose scene is the signed `a<id base36>.<sig>`, so the page gets
// only options.scene (URL-encoded). Then the id comes from the scene, and 签到 / 签退 sends that
// scene in one tap, with no second scan.
const activities = require('../../../services/activities')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { getLocation } = require('../../../utils/location')
const { sceneFromOptions, sceneFromScan, scanCode } = require('../../../utils/scene')
const { formatTime } = require('../../../utils/format')
const { serverDecided } = require('../../../services/request')
const { confirm, errorMessage, toastError } = require('../../../utils/ui')

const NOT_AN_ACTIVITY_CODE = '没有识别到活动签到码，请对准活动现场张贴的小程序码重新扫描'
const STATUS_TEXT = { cancelled: '活动已取消', finished: '活动已结束' }

/** `2026-06-06 09:00 ~ 11:00`; the end's date too when it ends on another day. */
function timeRange(startsAt, endsAt) {
  const starts = formatTime(startsAt)
  const ends = formatTime(endsAt)
  if (!ends) return starts
  return `${starts} ~ ${ends.slice(0, 10) === starts.slice(0, 10) ? ends.slice(11) : ends}`
}

/** What the rider may do now, from the activity's status and their own attendance. */
function stateOf(a, mine, fromCode) {
  const open = a.status === 'published'
  const signedIn = Boolean(mine && mine.signed_in_at)
  const signedOut = Boolean(mine && mine.signed_out_at)
  const deadline = a.signup_deadline ? new Date(a.signup_deadline).getTime() : NaN
  const signupClosed = open && !mine && deadline <= Date.now()
  let attendanceText = ''
  if (signedOut) {
    attendanceText = `已签退${mine.points_awarded ? ` · +${mine.points_awarded} 积分` : ''}`
  } else if (signedIn) {
    attendanceText = `已签到 ${formatTime(mine.signed_in_at).slice(11)}`
  }
  let signInText = signedIn ? '扫码签退' : '到场扫码签到'
  if (fromCode) signInText = signedIn ? '签退' : '签到'
  return {
    canEnrol: open && !mine && !signupClosed,
    signupClosed,
    // a waitlisted place has no sign-in yet; signing out ends it for good
    canSignIn: open && Boolean(mine) && mine.status === 'enrolled' && !signedOut,
    canWithdraw: open && Boolean(mine) && !signedIn,
    signInText,
    attendanceText,
    statusText: STATUS_TEXT[a.status] ? `${STATUS_TEXT[a.status]}${a.status === 'cancelled' && a.cancel_reason ? `：${a.cancel_reason}` : ''}` : '',
  }
}

Page({
  data: {
    id: null,
    scene: '',
    activity: null,
    enrolment: null,
    enrolmentName: '',
    attendanceText: '',
    statusText: '',
    isFull: false,
    canEnrol: false,
    signupClosed: false,
    canSignIn: false,
    canWithdraw: false,
    signInText: '到场扫码签到',
    time: '',
    busy: false,
    loading: true,
    error: '',
  },

  onLoad(options = {}) {
    prefetch()
    const scene = sceneFromOptions(options)
    if (!options.id && scene) return this.openCode(scene)
    this.setData({ id: options.id || null })
    return this.load()
  },

  /** Opened by (or rescanned to) an activity's sign-in code: its activity, offering its sign-in. */
  openCode(scene) {
    const id = activities.activityIdFromScene(scene)
    if (!id) {
      this.setData({ loading: false, error: NOT_AN_ACTIVITY_CODE })
      return undefined
    }
    this.setData({ id, scene })
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
        ...stateOf(a, mine, Boolean(this.data.scene)),
        time: timeRange(a.starts_at, a.ends_at),
        loading: false,
      })
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

  /** Sign in (or out): with the scene of the code that opened the page, else scan the code. */
  async onSignIn() {
    if (this.acting) return
    let scene = this.data.scene
    if (!scene) {
      let res
      try {
        res = await scanCode()
      } catch {
        return
      }
      if (this.acting) return
      scene = sceneFromScan(res)
    }
    // from here until the answer, a second tap does nothing
    this.acting = true
    this.setData({ busy: true })
    try {
      const loc = await getLocation()
      const r = await activities.attend({ scene, lat: loc.lat, lng: loc.lng, accuracy: loc.accuracy })
      const what = r && r.action === 'signed_out' ? '签退成功' : '签到成功'
      wx.showToast({ title: r && r.points_awarded ? `${what} +${r.points_awarded} 积分` : what, icon: 'none' })
      await this.load()
    } catch (err) {
      await this.failed(err)
    } finally {
      this.acting = false
      this.setData({ busy: false })
    }
  },

  async onRetry() {
    if (this.data.id) return this.load()
    // not an activity's code: scan the right one
    let res
    try {
      res = await scanCode()
    } catch {
      return undefined
    }
    return this.openCode(sceneFromScan(res))
  },
})
