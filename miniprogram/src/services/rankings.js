const api = require('./request')

/** 积分排行 scope=community|street, period=month|all */
const getRanking = ({ scope = 'community', period = 'month', top = 15 } = {}) => api.get('/rankings', { scope, period, top })

module.exports = { getRanking }
