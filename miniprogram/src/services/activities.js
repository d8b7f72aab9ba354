const api = require('./request')

const ENROLMENT_NAMES = { enrolled: '已报名', waitlisted: '候补中', cancelled: '已取消' }

/** 活动列表 */
const listActivities = (query) => api.get('/activities', query)
/** 活动详情 */
const getActivity = (id) => api.get(`/activities/${id}`)
/** 报名 */
const enrol = (id) => api.post(`/activities/${id}/enrolments`)
/** 取消报名 */
const withdraw = (id) => api.del(`/activities/${id}/enrolments/me`)
/** 活动扫码签到/签退 {scene, lat, lng, accuracy} → {action: signed_in|signed_out, points_awarded, …} */
const attend = ({ scene, lat, lng, accuracy }, { idempotencyKey } = {}) =>
  api.post('/activities/attendance', { scene, lat, lng, accuracy }, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

module.exports = { ENROLMENT_NAMES, listActivities, getActivity, enrol, withdraw, attend }
