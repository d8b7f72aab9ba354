const api = require('./request')

/** 治理岗位 */
const listPosts = (query) => api.get('/posts', query)
/** 认领岗位 */
const claim = (id) => api.post(`/posts/${id}/claims`)

module.exports = { listPosts, claim }
