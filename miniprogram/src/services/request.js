// The one HTTP wrapper: bearer token, one silent re-login on 401, the server's error
// envelope as ApiError, transport failures as NetworkError, Idempotency-Key passthrough;
// uploadFile/downloadFile carry the same token for photos, posters and certificates.
const config = require('../config')

const TOKEN_KEY = 'fengchao.token'
const USER_KEY = 'fengchao.user'
const NETWORK_MESSAGE = '网络不稳定，请稍后重试'

class ApiError extends Error {
  constructor({ code, message, status, details, retryAfter } = {}) {
    super(message || '请求失败，请稍后重试')
    this.name = 'ApiError'
    this.code = code || 'unknown_error'
    this.status = status || 0
    this.details = details || {}
    this.retryAfter = retryAfter || 0 // seconds, from a 429/503's Retry-After header
  }
}

class NetworkError extends Error {
  constructor(errMsg) {
    super(NETWORK_MESSAGE)
    this.name = 'NetworkError'
    this.code = 'network_error'
    this.errMsg = errMsg || ''
    this.isTimeout = /timeout/i.test(this.errMsg)
  }
}

// With the phone's storage full (setStorageSync throws) a login would fail every time, or its
// token be lost at once: what could not be stored is kept in memory for this run (and read
// before the older value storage may still hold).
const unstored = { token: '', user: null }

function readStorage(key) {
  try {
    return wx.getStorageSync(key)
  } catch {
    return ''
  }
}

/** Store `value`; true when storage took it. */
function writeStorage(key, value) {
  try {
    wx.setStorageSync(key, value)
    return true
  } catch {
    return false
  }
}

function getToken() {
  return unstored.token || readStorage(TOKEN_KEY) || ''
}

function setSession({ token, user }) {
  if (token) unstored.token = writeStorage(TOKEN_KEY, token) ? '' : token
  if (user) unstored.user = writeStorage(USER_KEY, user) ? null : user
}

function clearSession() {
  unstored.token = ''
  unstored.user = null
  try {
    wx.removeStorageSync(TOKEN_KEY)
    wx.removeStorageSync(USER_KEY)
  } catch {
    // nothing stored to remove
  }
}

function getCachedUser() {
  return unstored.user || readStorage(USER_KEY) || null
}

/** A unique key for one logical money-like operation (reuse it when retrying that operation). */
function newIdempotencyKey() {
  const rnd = () => Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  return `${Date.now().toString(36)}-${rnd()}${rnd()}-${rnd()}`
}

/**
 * True when the server answered with a refusal it decided (a 4xx): a retry is a new attempt
 * and takes a new Idempotency-Key. After a network failure, a 5xx or a client-side error
 * (location, wx.login) the outcome is unknown: keep the key, so a retry is a replay.
 */
function serverDecided(err) {
  return err instanceof ApiError && err.status >= 400 && err.status < 500
}

/** `{state: ['received', 'returned'], page: 1}` → `?state=received&state=returned&page=1`:
 * a list is the parameter repeated (how the server's list filters read it); blanks are left out. */
function toQuery(params) {
  if (!params) return ''
  const parts = []
  for (const k of Object.keys(params)) {
    for (const v of Array.isArray(params[k]) ? params[k] : [params[k]]) {
      if (v !== undefined && v !== null && v !== '') parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    }
  }
  return parts.length ? `?${parts.join('&')}` : ''
}

/** Retry-After in seconds (delta-seconds or an HTTP date); 0 when absent or unreadable. */
function retryAfterSeconds(header) {
  const value = String(headerValue(header, 'Retry-After') || '').trim()
  if (!value) return 0
  if (/^\d+$/.test(value)) return Number(value)
  const at = Date.parse(value)
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

function toApiError(statusCode, data, header) {
  const retryAfter = retryAfterSeconds(header)
  let body = data
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch {
      body = null
    }
  }
  if (body && typeof body === 'object' && body.code) {
    return new ApiError({ ...body, status: body.status || statusCode, retryAfter })
  }
  const message = statusCode >= 500 ? '服务暂时不可用，请稍后重试' : '请求失败，请稍后重试'
  return new ApiError({ code: `http_${statusCode}`, message, status: statusCode, retryAfter })
}

function wxRequest(options) {
  return new Promise((resolve, reject) => {
    wx.request({
      timeout: config.REQUEST_TIMEOUT_MS,
      ...options,
      success: resolve,
      fail: (err) => reject(new NetworkError(err && err.errMsg)),
    })
  })
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res && res.code ? resolve(res.code) : reject(new ApiError({ code: 'auth.wx_login_failed', message: '微信登录失败，请重试' }))),
      fail: (err) => reject(new NetworkError(err && err.errMsg)),
    })
  })
}

let loginInFlight = null

/** wx.login → POST /auth/wechat-login → store the token. Concurrent callers share one login. */
function login() {
  if (!loginInFlight) {
    loginInFlight = (async () => {
      const code = await wxLogin()
      const result = await request('POST', '/auth/wechat-login', { data: { code }, auth: false })
      setSession(result)
      return result
    })().finally(() => {
      loginInFlight = null
    })
  }
  return loginInFlight
}

/**
 * After a 401 for a request sent with `sentWith`: clear that token and log in again only if it is
 * still the stored one. A late 401 for an old token (a parallel request's re-login already stored
 * a new one) must not throw the new token away and log in again (every server login counts
 * against a per-address limit): the caller just retries with the current token. A re-login
 * already under way is shared.
 */
async function reauthAfter401(sentWith) {
  if (loginInFlight) {
    await loginInFlight
    return
  }
  const current = getToken()
  if (current && current !== sentWith) return
  wx.removeStorageSync(TOKEN_KEY)
  await login()
}

async function ensureLogin() {
  if (getToken()) return getCachedUser()
  const result = await login()
  return result.user
}

/**
 * request(method, path, { query, data, idempotencyKey, auth = true, reauth = true })
 * Resolves with the response body; rejects with ApiError or NetworkError.
 * reauth: false turns the silent re-login on 401 off (the 401 is thrown): for a call whose
 * retry must not run as a freshly logged-in account (注销账号: the first call revoked the token).
 */
async function request(method, path, options = {}) {
  const { query, data, idempotencyKey, auth = true, reauth = true, retried = false } = options
  const header = { 'Content-Type': 'application/json' }
  const token = auth ? getToken() : ''
  if (token) header.Authorization = `Bearer ${token}`
  if (idempotencyKey) header['Idempotency-Key'] = idempotencyKey

  const res = await wxRequest({
    url: `${config.getBaseUrl()}${path}${toQuery(query)}`,
    method,
    header,
    data: data === undefined ? undefined : data,
  })

  if (res.statusCode === 401 && auth && reauth && !retried) {
    await reauthAfter401(token)
    return request(method, path, { ...options, retried: true })
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    return res.data === '' ? null : res.data
  }
  throw toApiError(res.statusCode, res.data, res.header)
}

function wxUploadFile(options) {
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      timeout: 60000,
      ...options,
      success: resolve,
      fail: (err) => reject(new NetworkError(err && err.errMsg)),
    })
  })
}

/** Multipart POST /uploads (field `file`); resolves with the server's upload record ({id, url, ...}). */
async function uploadFile(filePath, { formData, retried = false } = {}) {
  const header = {}
  const token = getToken()
  if (token) header.Authorization = `Bearer ${token}`
  const res = await wxUploadFile({
    url: `${config.getBaseUrl()}/uploads`,
    filePath,
    name: 'file',
    formData: formData || {},
    header,
  })
  if (res.statusCode === 401 && !retried) {
    await reauthAfter401(token)
    return uploadFile(filePath, { formData, retried: true })
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    return typeof res.data === 'string' ? JSON.parse(res.data) : res.data
  }
  throw toApiError(res.statusCode, res.data, res.header)
}

function wxDownloadFile(options) {
  return new Promise((resolve, reject) => {
    let headers = {}
    const task = wx.downloadFile({
      timeout: 60000,
      ...options,
      success: (res) => resolve({ ...res, header: { ...headers, ...((res && res.header) || {}) } }),
      fail: (err) => reject(new NetworkError(err && err.errMsg)),
    })
    // downloadFile's success carries no response headers: they come through onHeadersReceived.
    if (task && typeof task.onHeadersReceived === 'function') {
      task.onHeadersReceived((res) => {
        headers = (res && res.header) || {}
      })
    }
  })
}

/** A refused download's body (the error envelope) sits in the temp file. */
function readDownloadedError(res) {
  try {
    const fsm = wx.getFileSystemManager()
    return fsm.readFileSync(res.tempFilePath, 'utf8')
  } catch {
    return null
  }
}

/** A response header regardless of case (servers and WeChat differ). */
function headerValue(header, name) {
  const key = Object.keys(header || {}).find((k) => k.toLowerCase() === name.toLowerCase())
  return key ? header[key] : ''
}

/**
 * Authenticated GET of a file (a PNG poster or certificate) with wx.downloadFile:
 * resolves {tempFilePath, header, statusCode}; the same 401 re-login and error envelope as request().
 * The host must be listed under 开发管理 → 服务器域名 → downloadFile.
 */
async function downloadFile(path, { query, retried = false } = {}) {
  const header = {}
  const token = getToken()
  if (token) header.Authorization = `Bearer ${token}`
  const res = await wxDownloadFile({ url: `${config.getBaseUrl()}${path}${toQuery(query)}`, header })
  if (res.statusCode === 401 && !retried) {
    await reauthAfter401(token)
    return downloadFile(path, { query, retried: true })
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    return { tempFilePath: res.tempFilePath, header: res.header || {}, statusCode: res.statusCode }
  }
  throw toApiError(res.statusCode, readDownloadedError(res), res.header)
}

const get = (path, query, opts) => request('GET', path, { ...opts, query })
const post = (path, data, opts) => request('POST', path, { ...opts, data: data || {} })
const patch = (path, data, opts) => request('PATCH', path, { ...opts, data: data || {} })
const put = (path, data, opts) => request('PUT', path, { ...opts, data: data || {} })
const del = (path, opts) => request('DELETE', path, { ...opts })

module.exports = {
  ApiError,
  NetworkError,
  NETWORK_MESSAGE,
  TOKEN_KEY,
  USER_KEY,
  request,
  get,
  post,
  patch,
  put,
  del,
  uploadFile,
  downloadFile,
  headerValue,
  login,
  ensureLogin,
  getToken,
  setSession,
  clearSession,
  getCachedUser,
  newIdempotencyKey,
  serverDecided,
  toQuery,
}
