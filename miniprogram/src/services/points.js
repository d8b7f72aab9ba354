const api = require('./request')

/** 我的积分 {balance, earned_this_month, lifetime_earned, entries?} */
const myPoints = (query) => api.get('/me/points', query)

module.exports = { myPoints }
