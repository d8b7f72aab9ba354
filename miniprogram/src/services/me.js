const api = require('./request')

/** 平台代码 ↔ 中文名 */
const PLATFORMS = [
  { code: 'meituan', name: '美团' },
  { code: 'eleme', name: '饿了么' },
  { code: 'sf', name: '顺丰' },
  { code: 'jd', name: '京东' },
  { code: 'shansong', name: '闪送' },
  { code: 'other', name: '其他' },
]

const ROLE_NAMES = {
  rider: '骑手/快递员',
  resident: '居民',
  grid_worker: '网格员',
  community_admin: '社区工作者',
  street_admin: '街道指挥中心',
  admin: '系统管理员',
}
const STAFF_ROLES = ['grid_worker', 'community_admin', 'street_admin', 'admin']

/**
 * 获取我的资料 (stored as the session's user). { store: false } leaves storing to the caller: a
 * page that may drop an older answer arriving late stores only the one it keeps (storeMe).
 */
async function getMe({ store = true } = {}) {
  const me = await api.get('/me')
  if (store) storeMe(me)
  return me
}
/** Keep a /me answer as the session's user (what other pages read with getCachedUser). */
const storeMe = (me) => api.setSession({ user: me })
/** 更新资料 / 社区报到 {role: rider|resident, community_id, platform, display_name} */
async function updateMe(patch) {
  const me = await api.patch('/me', patch)
  api.setSession({ user: me })
  return me
}
/** 绑定手机号（getPhoneNumber 的 code）→ {phone}（脱敏） */
const bindPhone = (code) => api.post('/me/phone', { code })

/** 解绑手机号：服务器清除保存的手机号（未绑定也算成功）；本地资料同步去掉 */
async function unbindPhone() {
  await api.del('/me/phone')
  const cached = api.getCachedUser()
  if (cached) api.setSession({ user: { ...cached, phone: null } })
}

/** 注销账号时须提交的确认词（服务器核对） */
const CANCEL_CONFIRM_WORD = '注销'
/**
 * 注销账号：POST /me/cancel {confirm: '注销'} → 204。不静默重新登录：注销成功即吊销令牌，
 * 丢失应答后的重试会得到 401（auth.token_revoked），由页面判断为"已注销"；若重新登录再发，
 * 注销的会是新建的空账号。409 account.staff_bound：工作人员须先由上级解除绑定。
 */
const cancelAccount = () => api.post('/me/cancel', { confirm: CANCEL_CONFIRM_WORD }, { reauth: false })
/** 注销后清除本地的登录状态和资料（与退出登录相同） */
const forgetSession = () => api.clearSession()

/** 工作人员在岗/离岗（在岗的网格员会被自动派单） */
const setDuty = (isOnDuty) => api.put('/me/duty', { is_on_duty: Boolean(isOnDuty) })

/** 社区工作者及以上：派单、改派、合并、换码 */
const MANAGER_ROLES = ['community_admin', 'street_admin', 'admin']
const isManager = (user) => Boolean(user && MANAGER_ROLES.includes(user.role))
const isStaff = (user) => Boolean(user && STAFF_ROLES.includes(user.role))
const platformName = (code) => (PLATFORMS.find((p) => p.code === code) || {}).name || ''

module.exports = {
  PLATFORMS,
  ROLE_NAMES,
  STAFF_ROLES,
  CANCEL_CONFIRM_WORD,
  getMe,
  storeMe,
  updateMe,
  bindPhone,
  unbindPhone,
  cancelAccount,
  forgetSession,
  setDuty,
  isStaff,
  isManager,
  platformName,
}
