const api = require('./request')

const NEED_KINDS = [
  { code: 'difficulty', name: '困难' },
  { code: 'need', name: '需求' },
  { code: 'suggestion', name: '建议' },
]

/** 提交困难/需求/建议 {kind, content, anonymous} */
const submitNeed = (body, { idempotencyKey } = {}) => api.post('/needs', body, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

module.exports = { NEED_KINDS, submitNeed }
