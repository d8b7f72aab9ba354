const api = require('./request')

/** 我的志愿服务时长 */
const myServiceHours = (query) => api.get('/me/service-hours', query)

module.exports = { myServiceHours }
