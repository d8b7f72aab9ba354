const api = require('./request')

/** 组织单元列表 level=street|community|grid，parent_id 可选 */
const listOrgUnits = ({ level, parentId, page, pageSize = 100 } = {}) =>
  api.get('/org-units', { level, parent_id: parentId, page, page_size: pageSize })

module.exports = { listOrgUnits }
