const api = require('./request')

// A report's status (server reports.models.STATUS_NAMES; the server also sends `status_name`).
const STATUS_NAMES = {
  draft: '草稿',
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
  self_handled: '已自行处理',
}
const DONE_STATUSES = ['resolved', 'closed', 'self_handled']
// 409 from POST /reports/{id}/submit: the draft was filed already (an earlier tap, another phone).
const NOT_DRAFT = 'report.not_draft'

/** 上报分类（按位置或我的社区所在街道）→ [Category] */
const listCategories = ({ lat, lng, communityId } = {}) =>
  api.get('/report-categories', { lat, lng, community_id: communityId }).then((res) => (Array.isArray(res) ? res : (res && res.items) || []))
/** 提交上报（幂等键随草稿保存，网络重试不会重复提交）→ {report, possible_duplicates} */
const createReport = (body, { idempotencyKey }) => api.post('/reports', body, { idempotencyKey })
/** 附近同类未办结问题（提交前提示 +1）→ [Duplicate] */
const nearbyReports = ({ categoryId, lat, lng }) => api.get('/reports/nearby', { category_id: categoryId, lat, lng })
/** 我的上报 {status?} */
const myReports = (query) => api.get('/me/reports', query)
/** 上报详情（含时间线） */
const getReport = (id) => api.get(`/reports/${id}`)
/**
 * 完成并提交服务器上的草稿（在公众号留言开始的反映）: POST /reports/{id}/submit
 * {category_id, lat?, lng?, address?, description?} → the filed report (detail). What is left
 * out keeps the draft's own (text, photos, location); lat/lng are sent only when chosen here
 * (a null would clear the draft's). The server takes no Idempotency-Key here: a repeat (a retry
 * after a lost answer) is refused with 409 `report.not_draft`.
 */
const fileDraft = (id, { categoryId, lat, lng, address, description }) =>
  api.post(`/reports/${id}/submit`, {
    category_id: categoryId,
    ...(lat !== null && lat !== undefined && lng !== null && lng !== undefined ? { lat, lng } : {}),
    ...(address ? { address } : {}),
    ...(description ? { description } : {}),
  })
/** 回访评价 {stars 1–5, comment, fixed} */
const sendFeedback = (id, { stars, comment, fixed }) => api.post(`/reports/${id}/feedback`, { stars, comment: comment || undefined, fixed })
/** 附议（+1：我也遇到了） */
const plusOne = (id) => api.post(`/reports/${id}/plus-one`)
/** 留言 {text, photo_ids} */
const comment = (id, { text, photoIds }) => api.post(`/reports/${id}/comments`, { text, photo_ids: photoIds || [] })

const statusName = (r) => (r && (r.status_name || STATUS_NAMES[r.status])) || ''
const categoryName = (r) => (r && r.category && r.category.name) || ''

module.exports = {
  STATUS_NAMES,
  DONE_STATUSES,
  NOT_DRAFT,
  listCategories,
  createReport,
  fileDraft,
  nearbyReports,
  myReports,
  getReport,
  sendFeedback,
  plusOne,
  comment,
  statusName,
  categoryName,
}
