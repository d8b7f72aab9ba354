const activities = require('../../../services/activities')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')

const toItem = (a) => ({ ...a, time: formatTime(a.starts_at) })

Page({
  data: { items: [], loading: true, error: '' },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => activities.listActivities({ page }), { reset: false, map: toItem })
    return undefined
  },
  load() {
    return loadList(this, (page) => activities.listActivities({ page }), { map: toItem })
  },
  onOpen(e) {
    wx.navigateTo({ url: `/packages/activities/detail/index?id=${e.currentTarget.dataset.id}` })
  },
  onRetry() {
    return this.load()
  },
})
