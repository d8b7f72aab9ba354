const api = require('./request')

/** 扫码打卡 {scene, lat, lng, accuracy}（幂等键由调用方在重试同一次打卡时复用） */
const checkIn = ({ scene, lat, lng, accuracy }, { idempotencyKey } = {}) =>
  api.post('/checkins', { scene, lat, lng, accuracy }, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })
/** 我的打卡记录 */
const myCheckins = (query) => api.get('/me/checkins', query)

module.exports = { checkIn, myCheckins }
