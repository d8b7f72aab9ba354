const api = require('./request')

/** 我的志愿服务时长 */
const myServiceHours = (query) => api.get('/me/service-hours', query)

/**
 * 志愿服务时长证明 PNG（from/to 为 YYYY-MM-DD）→ {tempFilePath, code}；
 * 核验码在响应头 X-Certificate-Code（工作人员凭码在 /service-hours/certificates/{code} 核验）。
 */
async function downloadCertificate({ from, to } = {}) {
  const res = await api.downloadFile('/me/service-hours/certificate', { query: { from, to } })
  return { tempFilePath: res.tempFilePath, code: api.headerValue(res.header, 'X-Certificate-Code') }
}

module.exports = { myServiceHours, downloadCertificate }
