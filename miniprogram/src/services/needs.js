const api = require('./request')

// server needs.models.KINDS
const NEED_KINDS = [
  { code: 'employment', name: '就业' },
  { code: 'skills_training', name: '技能培训' },
  { code: 'legal_rights', name: '法律维权' },
  { code: 'health', name: '健康' },
  { code: 'childcare', name: '子女托管' },
  { code: 'housing', name: '住房' },
  { code: 'community_suggestion', name: '社区建议' },
  { code: 'other', name: '其他' },
]

/** 我提交过的（含社区答复） */
const myNeeds = (query) => api.get('/me/needs', query)
/** 提交困难/需求/建议 {kind, content, photo_ids} */
const submitNeed = (body, { idempotencyKey } = {}) => api.post('/needs', body, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

module.exports = { NEED_KINDS, myNeeds, submitNeed }
