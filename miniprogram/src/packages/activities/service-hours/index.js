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
        total: res.total_hours !== undefined ? res.total_hours : res.total || 0,
        items: (res.items || []).map((h) => ({ ...h, time: formatTime(h.at || h.created_at) })),
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
