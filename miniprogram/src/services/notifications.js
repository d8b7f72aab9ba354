const api = require('./request')

/** 消息列表 */
const listNotifications = (query) => api.get('/me/notifications', query)
/** 标记已读 */
const markRead = (id) => api.post(`/me/notifications/${id}/read`)
/** 全部已读 */
const markAllRead = () => api.post('/me/notifications/read-all')
/** 上报用户接受的订阅模板 */
const saveSubscriptions = (accepted) => api.post('/me/subscriptions', { accepted })

module.exports = { listNotifications, markRead, markAllRead, saveSubscriptions }
