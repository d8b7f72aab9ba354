const reports = require('../../../services/reports')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')

const toItem = (r) => ({
  ...r,
  statusName: reports.statusName(r),
  time: formatTime(r.created_at),
  title: reports.categoryName(r) || '问题上报',
})

Page({
  data: { items: [], loading: true, error: '' },
  onShow() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => reports.myReports({ page }), { reset: false, map: toItem })
    return undefined
  },
  load() {
    return loadList(this, (page) => reports.myReports({ page }), { map: toItem })
  },
  onOpen(e) {
    wx.navigateTo({ url: `/packages/reports/detail/index?id=${e.currentTarget.dataset.id}` })
  },
  onReport() {
    wx.switchTab({ url: '/pages/report/index' })
  },
  onRetry() {
    return this.load()
  },
})
