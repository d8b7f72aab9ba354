const workOrders = require('../../../services/workOrders')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { askSubscribe, prefetch } = require('../../../services/subscribe')

const FILTERS = [
  // 我的待办: assigned to me and still to be done (not those resolved, closed or merged)
  { key: 'mine', name: '我的待办', query: { mine: true, state: ['dispatched', 'accepted', 'in_progress', 'on_hold'] } },
  { key: 'dispatched', name: '待接单', query: { state: 'dispatched' } },
  // 待派单: new orders and those a grid sent back (退回), both waiting for a dispatch
  { key: 'received', name: '待派单', query: { state: ['received', 'returned'] } },
  // 处理中: taken and not yet resolved (accepted, being handled, on hold)
  { key: 'in_progress', name: '处理中', query: { state: ['accepted', 'in_progress', 'on_hold'] } },
  { key: 'overdue', name: '已超时', query: { overdue: true } },
  { key: 'all', name: '全部', query: {} },
]

// What the clock's due time is (server reports.workflow.clock_of: phase accept → the accept
// deadline, resolve → the resolve deadline, paused → the end of the hold; stopped: none).
const DUE_LABELS = {
  accept: (t) => `限 ${t} 前接单`,
  resolve: (t) => `限 ${t} 前办结`,
  paused: (t) => `挂起至 ${t}`,
}

function dueText(clock) {
  const label = clock && DUE_LABELS[clock.phase]
  const time = clock && formatTime(clock.due_at)
  return label && time ? label(time) : ''
}

const toItem = (w) => ({
  ...w,
  stateName: w.state_name || workOrders.STATE_NAMES[w.state] || w.state,
  time: formatTime(w.created_at),
  due: dueText(w.clock),
  is_overdue: workOrders.isOverdue(w),
  address: (w.report && w.report.address) || '',
  title: (w.report && ((w.report.category && w.report.category.name) || w.report.description)) || `工单 #${w.id}`,
})

Page({
  data: { filters: FILTERS, filter: 'mine', items: [], loading: true, error: '' },

  /** `?filter=received` (待派单, from 我的 for admins) opens on that filter. */
  onLoad(options) {
    const filter = options && options.filter
    if (filter && FILTERS.some((f) => f.key === filter)) this.setData({ filter })
  },
  onShow() {
    prefetch()
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
  /** On duty: ask for new / assigned / overdue work-order messages (must be a tap). */
  onSubscribeDuty() {
    return askSubscribe('staffOnDuty')
  },
  onOpen(e) {
    wx.navigateTo({ url: `/packages/staff/work-order-detail/index?id=${e.currentTarget.dataset.id}` })
  },
  onRetry() {
    return this.load()
  },
})
