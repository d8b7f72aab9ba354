const api = require('./request')

/** 可兑换的奖品 */
const listRewards = (query) => api.get('/rewards', query)

module.exports = { listRewards }
