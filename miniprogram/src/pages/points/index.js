const points = require('../../services/points')
const { formatTime } = require('../../utils/format')
const { errorMessage } = require('../../utils/ui')

Page({
  data: { summary: null, entries: [], loading: true, error: '' },

  onShow() {
    return this.load()
  },

  onPullDownRefresh() {
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.summary, error: '' })
    try {
      const s = await points.myPoints()
      this.setData({
        summary: s,
        entries: ((s.ledger && s.ledger.items) || []).map((e) => ({
          id: e.id,
          reason: e.reason || '积分变动',
          delta: e.delta > 0 ? `+${e.delta}` : `${e.delta}`,
          positive: e.delta > 0,
          time: formatTime(e.created_at),
        })),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  onRedeem() {
    wx.navigateTo({ url: '/packages/points/rewards/index' })
  },
  onRedemptions() {
    wx.navigateTo({ url: '/packages/points/redemptions/index' })
  },
  onRanking() {
    wx.navigateTo({ url: '/packages/points/ranking/index' })
  },
  onServiceHours() {
    wx.navigateTo({ url: '/packages/activities/service-hours/index' })
  },
  onRetry() {
    return this.load()
  },
})
