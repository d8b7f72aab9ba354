// 注销账号: says plainly what happens, asks twice (a tick, then a dialog), sends one request.
// Success clears the login and starts over at 首页. A lost answer (network, 5xx) keeps the page
// for another try; that try then meets the token the first one revoked (401): it was done.
const me = require('../../../services/me')
const { ApiError } = require('../../../services/request')
const { errorMessage } = require('../../../utils/ui')

const CONSEQUENCES = [
  '积分清零：剩余积分作废，不能恢复',
  '未领取的兑换券作废，奖品退回库存',
  '已报名、尚未开始的活动自动取消，候补的人依次递补',
  '认领的治理岗位自动离岗，尚未答复的诉求撤回',
  '已提交的反映匿名保留（显示为"已注销用户"），社区继续处理',
  '手机号、昵称、头像和社区报到信息删除，不再收到消息通知',
  '以后用同一微信进入，将是一个全新的账号',
]

/** The outcome of a failed attempt is unknown (it may have been done): no answer, or a 5xx. */
const outcomeUnknown = (err) => !(err instanceof ApiError) || err.status >= 500

Page({
  data: { consequences: CONSEQUENCES, agreed: false, submitting: false, error: '' },

  onLoad() {
    this.busy = false
    this.maybeDone = false // an earlier attempt's answer was lost
  },

  onToggleAgree() {
    if (this.data.submitting) return
    this.setData({ agreed: !this.data.agreed, error: '' })
  },

  async onSubmit() {
    if (this.busy || !this.data.agreed) return
    this.busy = true // set before anything waits: a second tap sends nothing
    try {
      if (!(await this.confirmed())) return
      this.setData({ submitting: true, error: '' })
      try {
        await me.cancelAccount()
      } catch (err) {
        return this.failed(err)
      }
      this.finish('账号已注销')
    } finally {
      this.busy = false
    }
  },

  confirmed() {
    return new Promise((resolve) => {
      wx.showModal({
        title: '确认注销账号？',
        content: '注销后不能恢复：积分清零，未领取的兑换券作废，已报名的活动取消。',
        confirmText: '确认注销',
        confirmColor: '#d93025',
        cancelText: '再想想',
        success: (res) => resolve(Boolean(res && res.confirm)),
        fail: () => resolve(false),
      })
    })
  },

  failed(err) {
    if (err instanceof ApiError && err.status === 401) {
      if (this.maybeDone) return this.finish('账号已注销') // the lost attempt was done
      me.forgetSession()
      this.setData({ submitting: false, error: '登录已失效，请返回「我的」重新进入后再试' })
      return
    }
    if (outcomeUnknown(err)) this.maybeDone = true
    // 409 account.staff_bound and the rest: the server's own words
    this.setData({ submitting: false, error: errorMessage(err) })
  },

  finish(message) {
    me.forgetSession()
    wx.reLaunch({
      url: '/pages/home/index',
      complete: () => wx.showToast({ title: message, icon: 'none', duration: 3000 }),
    })
  },

  onBack() {
    wx.navigateBack()
  },
})
