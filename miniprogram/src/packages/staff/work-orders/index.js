const workOrders = require('../../../services/workOrders')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')

const FILTERS = [
  { key: 'mine', name: '我的待办', query: { mine: true } },
  { key: 'dispatched', name: '待接单', query: { state: 'dispatched' } },
  { key: 'in_progress', name: '处理中', query: { state: 'in_progress' } },
  { key: 'overdue', name: '已超时', query: { overdue: true } },
  { key: 'all', name: '全部', query: {} },
]

const toItem = (w) => ({
  ...w,
  stateName: workOrders.STATE_NAMES[w.state] || w.state,
  time: formatTime(w.created_at),
  due: formatTime(w.due_at),
  title: w.title || (w.report && (w.report.category_name || w.report.description)) || `工单 #${w.id}`,
})

Page({
  data: { filters: FILTERS, filter: 'mine', items: [], loading: true, error: '' },

  onShow() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  query(page) {
    const f = FILTERS.find((x) => x.key === this.data.filter)
    return workOrders.listWorkOrders({ ...f.query, page })
  },
  load() {
    return loadList(this, (page) => this.query(page), { map: toItem })
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => this.query(page), { reset: false, map: toItem })
    return undefined
  },
  onFilter(e) {
    this.setData({ filter: e.currentTarget.dataset.key, items: [] })
    return this.load()
  },
  onOpen(e) {
    wx.navigateTo({ url: `/packages/staff/work-order-detail/index?id=${e.currentTarget.dataset.id}` })
  },
  onRetry() {
    return this.load()
  },
})
