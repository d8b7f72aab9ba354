const api = require('./request')

/** 消息列表 */
const listNotifications = (query) => api.get('/me/notifications', query)
/** 标记已读 */
const markRead = (id) => api.post(`/me/notifications/${id}/read`)
/** 全部已读 */
const markAllRead = () => api.post('/me/notifications/read-all')
/** 每类通知要申请的模板 id 与我剩余的次数 → {templates: {kind: id}, credits: [{template_id, count}]} */
const getSubscriptions = () => api.get('/me/subscriptions')
/** 上报用户在 wx.requestSubscribeMessage 里接受的模板 id（每个可发一次） */
const saveSubscriptions = (accepted) => api.post('/me/subscriptions', { accepted })

module.exports = { listNotifications, markRead, markAllRead, getSubscriptions, saveSubscriptions }
