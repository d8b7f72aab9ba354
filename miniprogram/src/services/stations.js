const api = require('./request')

/** 驿站服务项代码 → 中文（与服务器 stations.models.SERVICES 一致） */
const SERVICES = [
  { code: 'rest', name: '歇脚休息' },
  { code: 'water', name: '饮水' },
  { code: 'charging', name: '手机充电' },
  { code: 'tyre_pump', name: '打气' },
  { code: 'heating_food', name: '热饭' },
  { code: 'toilet', name: '卫生间' },
  { code: 'supplies', name: '物资补给' },
  { code: 'reading', name: '学习阅读' },
  { code: 'medical', name: '医药箱' },
  { code: 'umbrella', name: '借伞' },
  { code: 'repair', name: '维修工具' },
  { code: 'info', name: '信息分享' },
  { code: 'wifi', name: '无线网络' },
  { code: 'aircon', name: '空调' },
]
/** 驿站类型代码 → 中文（与服务器 stations.models.KINDS 一致；服务器也返回 kind_name） */
const KINDS = {
  courier: '小哥驿站',
  warm: '暖心驿站',
  gig: '零工驿站',
  party: '党群服务中心',
  love_corner: '爱心角',
}

/** 附近驿站（按距离排序）→ {items: [NearbyStation]} */
const nearby = ({ lat, lng, radiusM = 3000, service, openNow, limit } = {}) =>
  api.get('/stations/nearby', {
    lat,
    lng,
    radius_m: radiusM,
    service,
    open_now: openNow ? 'true' : undefined,
    limit,
  })
/** 驿站详情 */
const getStation = (id) => api.get(`/stations/${id}`)

/** 工作人员：我管辖范围内的驿站（含 qr_scene、qr_rotated_at） */
const listAdminStations = ({ page, pageSize = 50 } = {}) => api.get('/admin/stations', { page, page_size: pageSize })
/** 工作人员：一个驿站（含当前签名的码 scene） */
const getAdminStation = (id) => api.get(`/admin/stations/${id}`)
/** 换码：旋转驿站的二维码密钥，之前打印的码全部失效（社区工作者及以上） */
const rotateQr = (id) => api.post(`/admin/stations/${id}/rotate-qr`)
/** 驿站码牌海报 PNG（带 token 下载）→ {tempFilePath} */
const downloadPoster = (id) => api.downloadFile(`/admin/stations/${id}/qrcode.png`, { query: { variant: 'poster' } })

const serviceName = (code) => (SERVICES.find((s) => s.code === code) || {}).name || code
const kindName = (kind) => KINDS[kind] || kind || '驿站'
/** A station's service names: the server's `service_names` when sent, else from the codes. */
const serviceNames = (station) =>
  station && Array.isArray(station.service_names) && station.service_names.length
    ? station.service_names
    : ((station && station.services) || []).map(serviceName)

/**
 * Opening hours {"mon": ["08:00-22:00"], …} (null = 24 h) as one line of Chinese.
 *
 * Days with the same hours share one entry (in week order, by their first day); within an
 * entry, only a run of three or more consecutive open days reads "X至Y" — a closed day in
 * between splits the run (周一、周三、周四, never 周一至周四). The week runs Monday to Sunday
 * (the server's WEEKDAYS): a run never wraps from Sunday to Monday, so "X至Y" always has X
 * before Y (周六、周日、周一 rather than an ambiguous 周六至周一).
 */
const DAY_NAMES = { mon: '周一', tue: '周二', wed: '周三', thu: '周四', fri: '周五', sat: '周六', sun: '周日' }
const WEEK = Object.keys(DAY_NAMES)
/** Day codes in week order, as "周一至周三、周五" (runs of 3+ consecutive days as a range). */
function daysLabel(days) {
  if (days.length === WEEK.length) return '每天'
  const runs = []
  for (const d of days) {
    const run = runs[runs.length - 1]
    if (run && WEEK.indexOf(d) === WEEK.indexOf(run[run.length - 1]) + 1) run.push(d)
    else runs.push([d])
  }
  return runs
    .map((run) => (run.length > 2 ? `${DAY_NAMES[run[0]]}至${DAY_NAMES[run[run.length - 1]]}` : run.map((d) => DAY_NAMES[d]).join('、')))
    .join('、')
}
function hoursText(hours) {
  if (hours === null || hours === undefined) return '24 小时开放'
  if (typeof hours === 'string') return hours
  const days = WEEK.filter((d) => Array.isArray(hours[d]) && hours[d].length)
  if (!days.length) return '暂停开放'
  const groups = []
  for (const d of days) {
    const text = hours[d].join('、')
    const same = groups.find((g) => g.text === text)
    if (same) same.days.push(d)
    else groups.push({ text, days: [d] })
  }
  return groups.map((g) => `${daysLabel(g.days)} ${g.text}`).join('；')
}

module.exports = { SERVICES, KINDS, nearby, getStation, listAdminStations, getAdminStation, rotateQr, downloadPoster, serviceName, kindName, serviceNames, hoursText }
