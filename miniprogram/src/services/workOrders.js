const api = require('./request')

const STATE_NAMES = {
  new: '待派单',
  dispatched: '待接单',
  accepted: '已接单',
  in_progress: '处理中',
  on_hold: '挂起',
  resolved: '已办结',
  returned: '已退回',
  closed: '已关闭',
}
const ACTION_NAMES = {
  accept: '接单',
  start: '开始处理',
  resolve: '办结',
  return: '退回',
  hold: '挂起',
  resume: '恢复处理',
}

/** 工单列表 {state, mine, overdue} */
const listWorkOrders = ({ state, mine, overdue, page } = {}) =>
  api.get('/work-orders', { state, mine: mine ? 1 : undefined, overdue: overdue ? 1 : undefined, page })
/** 工单详情 */
const getWorkOrder = (id) => api.get(`/work-orders/${id}`)
/** 工单流转 {action, note, photo_ids} */
const transition = (id, { action, note, photoIds }, { idempotencyKey } = {}) =>
  api.post(`/work-orders/${id}/transitions`, { action, note, photo_ids: photoIds || [] }, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

module.exports = { STATE_NAMES, ACTION_NAMES, listWorkOrders, getWorkOrder, transition }
