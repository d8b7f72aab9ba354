const api = require('./request')

// Work-order states (server reports.models.STATE_NAMES; the server also sends `state_name`).
const STATE_NAMES = {
  received: '待受理',
  dispatched: '已派单',
  accepted: '已接单',
  in_progress: '处置中',
  resolved: '已办结',
  closed: '已回访',
  returned: '退回',
  on_hold: '挂起',
  merged: '已合并',
  rejected: '不予受理',
}
// Actions: POST /work-orders/{id}/{action} (server reports.workflow.ACTIONS).
const ACTION_NAMES = {
  dispatch: '派单',
  reassign: '改派',
  accept: '接单',
  start: '开始处置',
  resolve: '办结',
  return: '退回',
  hold: '挂起',
  resume: '恢复处置',
  reject: '不予受理',
  merge: '合并',
  close: '回访结案',
}
// What each action needs in the body (the server refuses with work_order.* otherwise).
const NEEDS_NOTE = ['resolve', 'return', 'hold', 'reject', 'close']
const NEEDS_PHOTO = ['resolve']

/** 工单列表 {state, mine, overdue, page}; state: one state or several (['received', 'returned']) */
const listWorkOrders = ({ state, mine, overdue, page, pageSize } = {}) =>
  api.get('/work-orders', { state, mine: mine ? 'true' : undefined, overdue: overdue ? 'true' : undefined, page, page_size: pageSize })
/** 工单详情（report_detail 含时间线、照片、位置；allowed_actions 为当前可做的操作） */
const getWorkOrder = (id) => api.get(`/work-orders/${id}`)
/**
 * 工单流转：POST /work-orders/{id}/{action} {note, photo_ids, hold_until, assignee_id, unit_id, into_id}
 */
const transition = (id, action, { note, photoIds, holdUntil, assigneeId, unitId, intoId } = {}, { idempotencyKey } = {}) =>
  api.post(
    `/work-orders/${id}/${action}`,
    { note: note || undefined, photo_ids: photoIds || [], hold_until: holdUntil, assignee_id: assigneeId, unit_id: unitId, into_id: intoId },
    { idempotencyKey: idempotencyKey || api.newIdempotencyKey() },
  )

const isOverdue = (order) => Boolean(order && order.clock && order.clock.level === 'red')

module.exports = { STATE_NAMES, ACTION_NAMES, NEEDS_NOTE, NEEDS_PHOTO, listWorkOrders, getWorkOrder, transition, isOverdue }
