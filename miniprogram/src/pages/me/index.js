const me = require('../../services/me')
const org = require('../../services/org')
const { getCachedUser } = require('../../services/request')
const { errorMessage, toastError, toast } = require('../../utils/ui')
const { latest } = require('../../utils/list')

const MENU = [
  { key: 'reports', icon: '📝', name: '我的上报', url: '/packages/reports/mine/index' },
  { key: 'redemptions', icon: '🎁', name: '我的兑换', url: '/packages/points/redemptions/index' },
  { key: 'activities', icon: '🎉', name: '社区活动', url: '/packages/activities/list/index' },
  { key: 'posts', icon: '🦺', name: '治理岗位认领', url: '/packages/activities/posts/index' },
  { key: 'needs', icon: '💬', name: '困难与建议', url: '/packages/activities/needs/index' },
  { key: 'hours', icon: '⏱', name: '志愿服务时长', url: '/packages/activities/service-hours/index' },
  { key: 'notifications', icon: '🔔', name: '消息通知', url: '/packages/profile/notifications/index' },
]
// Staff workbench by role: `manager` entries only for community admins and above.
const STAFF_MENU = [
  { key: 'work-orders', icon: '📋', name: '工单处理', url: '/packages/staff/work-orders/index' },
  { key: 'dispatch', icon: '📤', name: '待派单工单', url: '/packages/staff/work-orders/index?filter=received', manager: true },
  { key: 'fulfil', icon: '✅', name: '扫码核销兑换', url: '/packages/staff/fulfil/index' },
  { key: 'stations', icon: '🏷', name: '驿站码牌', url: '/packages/staff/stations/index' },
]

function view(user) {
  if (!user) return {}
  return {
    user,
    roleName: me.ROLE_NAMES[user.role] || '未报到',
    unitName: (user.staff && user.staff.org_unit_name) || '',
    platformName: me.platformName(user.platform),
    communityName: (user.community && user.community.name) || user.community_name || '',
    registered: Boolean(user.community_id || user.community),
    isStaff: me.isStaff(user),
    staffMenu: STAFF_MENU.filter((item) => !item.manager || me.isManager(user)),
  }
}

Page({
  // stale: the profile on screen is the one cached at the last sign-in or visit (this load failed)
  data: { user: null, menu: MENU, staffMenu: [], isStaff: false, registered: false, loading: true, error: '', stale: '' },

  onShow() {
    const cached = getCachedUser()
    if (cached) this.setData(view(cached))
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },

  async load() {
    // A tab page loads on every show: on a weak network an older /me answer may arrive after a
    // newer one (e.g. from before a registration). Only the latest load may show or store its
    // answer, so the older profile neither comes back on screen nor overwrites the cached user.
    const isLatest = latest(this, 'me')
    this.setData({ loading: !this.data.user, error: '' })
    try {
      const user = await me.getMe({ store: false })
      if (!isLatest()) return
      me.storeMe(user)
      this.setData({ ...view(user), loading: false, stale: '' })
      if (user.community_id) {
        // /me carries only the id; the name comes from the org unit (a failure just leaves it out)
        org
          .getOrgUnit(user.community_id)
          .then((unit) => {
            if (isLatest()) this.setData({ communityName: unit.name })
          })
          .catch(() => {})
      }
    } catch (err) {
      if (!isLatest()) return
      // a profile is on screen (cached): keep it, and say it may be out of date and why
      if (this.data.user) this.setData({ loading: false, error: '', stale: `${errorMessage(err)}；以下是上次的资料，下拉可刷新` })
      else this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      if (isLatest()) wx.stopPullDownRefresh()
    }
  },

  onOpen(e) {
    wx.navigateTo({ url: e.currentTarget.dataset.url })
  },
  onRegister() {
    wx.navigateTo({ url: '/packages/profile/register/index' })
  },
  onRetry() {
    return this.load()
  },

  /** 解绑手机号: asked first; one request however often it is tapped. */
  async onUnbindPhone() {
    if (this.unbinding) return
    this.unbinding = true
    try {
      const ok = await new Promise((resolve) => {
        wx.showModal({
          title: '解绑手机号',
          content: '解绑后，社区将无法通过手机号联系您；以后可在「社区报到」中重新授权。',
          confirmText: '解绑',
          success: (res) => resolve(Boolean(res && res.confirm)),
          fail: () => resolve(false),
        })
      })
      if (!ok) return
      await me.unbindPhone()
      if (this.data.user) this.setData({ 'user.phone': null })
      toast('已解绑')
    } catch (err) {
      toastError(err)
    } finally {
      this.unbinding = false
    }
  },
  onCancelAccount() {
    wx.navigateTo({ url: '/packages/profile/cancel/index' })
  },
})
