const api = require('./request')

const STATUS_NAMES = {
  submitted: '已提交',
  dispatched: '已派单',
  accepted: '已接单',
  in_progress: '处理中',
  resolved: '已办结',
  closed: '已办结',
  rejected: '未受理',
}

/** 上报分类 */
const listCategories = () => api.get('/report-categories')
/** 提交上报（幂等键随草稿保存，网络重试不会重复提交） */
const createReport = (body, { idempotencyKey }) => api.post('/reports', body, { idempotencyKey })
/** 我的上报 */
const myReports = (query) => api.get('/me/reports', query)
/** 上报详情（含时间线） */
const getReport = (id) => api.get(`/reports/${id}`)
/** 回访评价 {rating, comment, fixed} */
const sendFeedback = (id, { rating, comment, fixed }) => api.post(`/reports/${id}/feedback`, { rating, comment, fixed })
/** 附议（+1） */
const upvote = (id) => api.post(`/reports/${id}/upvote`)

module.exports = { STATUS_NAMES, listCategories, createReport, myReports, getReport, sendFeedback, upvote }
