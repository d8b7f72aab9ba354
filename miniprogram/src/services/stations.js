const api = require('./request')

/** 驿站服务项代码 → 中文 */
const SERVICES = [
  { code: 'rest', name: '歇脚休息' },
  { code: 'charging', name: '手机充电' },
  { code: 'water', name: '饮水' },
  { code: 'heating', name: '热饭' },
  { code: 'toilet', name: '卫生间' },
  { code: 'tyre_pump', name: '打气' },
  { code: 'supplies', name: '物资补给' },
  { code: 'reading', name: '学习阅读' },
  { code: 'medical', name: '医疗药箱' },
]
const KINDS = {
  courier_station: '小哥驿站',
  warm_station: '暖心驿站',
  gig_station: '零工驿站',
  party_center: '党群服务中心',
  love_corner: '爱心角',
}

/** 附近驿站 */
const nearby = ({ lat, lng, radiusM = 3000, service, openNow, page, pageSize } = {}) =>
  api.get('/stations/nearby', {
    lat,
    lng,
    radius_m: radiusM,
    service,
    open_now: openNow ? 1 : undefined,
    page,
    page_size: pageSize,
  })
/** 驿站详情 */
const getStation = (id) => api.get(`/stations/${id}`)

const serviceName = (code) => (SERVICES.find((s) => s.code === code) || {}).name || code
const kindName = (kind) => KINDS[kind] || kind || '驿站'

module.exports = { SERVICES, KINDS, nearby, getStation, serviceName, kindName }
