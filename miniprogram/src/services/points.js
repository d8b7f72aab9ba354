const api = require('./request')

/** 我的积分 {balance, earned_this_month, lifetime_earned, ledger: {items, total, page, page_size}} */
const myPoints = (query) => api.get('/me/points', query)

module.exports = { myPoints }
