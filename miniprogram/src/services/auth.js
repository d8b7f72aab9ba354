const api = require('./request')

/** 微信登录：wx.login → POST /auth/wechat-login，保存 token */
const login = () => api.login()
/** 已有 token 则直接返回缓存用户，否则登录 */
const ensureLogin = () => api.ensureLogin()
/** 退出登录（服务器吊销 token，本地清除） */
async function logout() {
  try {
    await api.post('/auth/logout')
  } finally {
    api.clearSession()
  }
}

module.exports = { login, ensureLogin, logout }
