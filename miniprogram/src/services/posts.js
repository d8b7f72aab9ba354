const api = require('./request')

const CLAIM_NAMES = { pending: '待审核', approved: '在岗', declined: '未通过', withdrawn: '已撤回', ended: '已离岗' }

/** 治理岗位 */
const listPosts = (query) => api.get('/posts', query)
/** 认领岗位 {note?} → Claim（status pending，社区审核） */
const claim = (id, { note } = {}) => api.post(`/posts/${id}/claims`, { note: note || undefined })
/** 我的认领 */
const myClaims = (query) => api.get('/me/post-claims', query)
/** 撤回认领 */
const withdrawClaim = (claimId) => api.post(`/me/post-claims/${claimId}/withdraw`)

module.exports = { CLAIM_NAMES, listPosts, claim, myClaims, withdrawClaim }
