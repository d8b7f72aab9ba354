// 驿站码牌: the stations in my scope; one opens its printable poster.
const stations = require('../../../services/stations')
const { loadList } = require('../../../utils/list')

const toItem = (s) => ({ ...s, kindName: s.kind_name || stations.kindName(s.kind) })

Page({
  data: { items: [], loading: true, error: '' },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  load() {
    return loadList(this, (page) => stations.listAdminStations({ page }), { map: toItem })
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => stations.listAdminStations({ page }), { reset: false, map: toItem })
    return undefined
  },
  onOpen(e) {
    wx.navigateTo({ url: `/packages/staff/station-poster/index?id=${e.currentTarget.dataset.id}` })
  },
  onRetry() {
    return this.load()
  },
})
