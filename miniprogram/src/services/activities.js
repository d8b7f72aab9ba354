const api = require('./request')

/** 活动列表 */
const listActivities = (query) => api.get('/activities', query)
/** 活动详情 */
const getActivity = (id) => api.get(`/activities/${id}`)
/** 报名 */
const enrol = (id) => api.post(`/activities/${id}/enrolments`)
/** 取消报名 */
const withdraw = (id) => api.del(`/activities/${id}/enrolments/me`)
/** 活动扫码签到 {scene, lat, lng} */
const attend = ({ scene, lat, lng }, { idempotencyKey } = {}) =>
  api.post('/activities/attendance', { scene, lat, lng }, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

module.exports = { listActivities, getActivity, enrol, withdraw, attend }
