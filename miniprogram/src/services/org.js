const api = require('./request')

/** 组织单元列表 level=street|community|grid，parent_id 可选 */
const listOrgUnits = ({ level, parentId, page, pageSize = 100 } = {}) =>
  api.get('/org-units', { level, parent_id: parentId, page, page_size: pageSize })

/** 一个组织单元 {id, code, name, level, parent_id, center_lat, center_lng} */
const getOrgUnit = (id) => api.get(`/org-units/${id}`)

/** 管辖范围内的工作人员（社区工作者及以上）→ items {user_id, role, org_unit_id, org_unit_name, is_on_duty} */
const listStaff = ({ page, pageSize = 100 } = {}) => api.get('/admin/staff', { page, page_size: pageSize })

module.exports = { listOrgUnits, getOrgUnit, listStaff }
