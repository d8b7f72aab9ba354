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

/** The activity id a sign-in code's scene carries (`a<id base36>.<signature>`,
 * server/stations/scenes.py), decoded already; null for any other code. */
function activityIdFromScene(scene) {
  const m = /^a([0-9a-z]{1,12})\.[0-9A-Za-z]+$/.exec(String(scene || '').trim())
  const id = m ? parseInt(m[1], 36) : NaN
  return id > 0 ? id : null
}

module.exports = { ENROLMENT_NAMES, listActivities, getActivity, enrol, withdraw, attend, activityIdFromScene }
