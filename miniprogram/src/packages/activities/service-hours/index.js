const serviceHours = require('../../../services/serviceHours')
const { formatTime } = require('../../../utils/format')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: { total: 0, items: [], loading: true, error: '' },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  async load() {
    this.setData({ loading: true, error: '' })
    try {
      const res = await serviceHours.myServiceHours()
      this.setData({
        total: res.total_hours || 0,
        activityCount: res.activity_count || 0,
        items: (res.items || []).map((h) => ({ ...h, id: h.activity_id, time: formatTime(h.signed_in_at || h.starts_at) })),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      wx.stopPullDownRefresh()
    }
  },
  onRetry() {
    return this.load()
  },
})
