const { mockServer, refusal, loggedIn, BASE } = require('../helpers')
const api = require('../../src/services/request')
const config = require('../../src/config')

/** A stored token the server refuses as expired; a re-login gets 'fresh' (user 7). */
function expiredSession() {
  wx.setStorageSync(api.TOKEN_KEY, 'expired')
  return mockServer({
    'GET /me/points': (req) =>
      req.header.Authorization === 'Bearer fresh' ? { balance: 12 } : refusal('auth.token_expired', '登录已过期', 401),
    'POST /auth/wechat-login': () => ({ token: 'fresh', is_new: false, user: { id: 7, role: 'rider' } }),
  })
}

describe('request wrapper', () => {
  test('sends the bearer token and resolves the body', async () => {
    loggedIn()
    const server = mockServer({ 'GET /me': () => ({ id: 1, role: 'rider' }) })
    await expect(api.get('/me', { a: 1, b: undefined })).resolves.toEqual({ id: 1, role: 'rider' })
    const call = server.callsTo('GET /me')[0]
    expect(call.header.Authorization).toBe('Bearer tok-1')
    expect(call.query).toEqual({ a: '1' })
    expect(wx.request.mock.calls[0][0].url).toBe(`${BASE}/me?a=1`)
  })

  test('401 → one silent re-login via wx.login, token stored, original request retried', async () => {
    const server = expiredSession()
    await expect(api.get('/me/points')).resolves.toEqual({ balance: 12 })
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(server.callsTo('POST /auth/wechat-login')[0].data).toEqual({ code: 'wx-code-1' })
    expect(server.callsTo('POST /auth/wechat-login')[0].header.Authorization).toBeUndefined()
    expect(server.callsTo('GET /me/points')).toHaveLength(2)
    expect(wx.getStorageSync(api.TOKEN_KEY)).toBe('fresh')
    expect(wx.getStorageSync(api.USER_KEY)).toMatchObject({ id: 7 })
  })

  test('storage full: the re-login still works for this run (the token kept in memory)', async () => {
    const server = expiredSession()
    wx.setStorageSync = jest.fn(() => {
      throw new Error('setStorageSync:fail exceed storage max size 10Mb')
    })
    await expect(api.get('/me/points')).resolves.toEqual({ balance: 12 })
    await expect(api.get('/me/points')).resolves.toEqual({ balance: 12 }) // no second login
    expect(server.callsTo('POST /auth/wechat-login')).toHaveLength(1)
    expect(api.getCachedUser()).toMatchObject({ id: 7 })
    api.clearSession()
    expect(api.getCachedUser()).toBeNull()
  })

  test('a 429/503 carries its Retry-After (seconds) on the ApiError', async () => {
    loggedIn()
    mockServer({
      'GET /me': () => ({ status: 429, header: { 'retry-after': '42' }, body: { code: 'rate_limited', message: '操作太频繁，请稍后再试', status: 429, details: {} } }),
      'GET /me/points': () => ({ status: 503, header: { 'Retry-After': '1' }, body: '' }),
      'GET /rewards': () => refusal('internal_error', '服务繁忙，请稍后再试', 500),
    })
    await expect(api.get('/me')).rejects.toMatchObject({ status: 429, retryAfter: 42 })
    await expect(api.get('/me/points')).rejects.toMatchObject({ status: 503, retryAfter: 1 })
    await expect(api.get('/rewards')).rejects.toMatchObject({ status: 500, retryAfter: 0 })
  })

  test('a second 401 after re-login is not retried again (no loop)', async () => {
    loggedIn()
    const server = mockServer({
      'GET /me': () => refusal('auth.revoked', '账号已停用', 401),
      'POST /auth/wechat-login': () => ({ token: 'fresh', user: { id: 1, role: 'rider' } }),
    })
    await expect(api.get('/me')).rejects.toMatchObject({ name: 'ApiError', code: 'auth.revoked', status: 401 })
    expect(server.callsTo('GET /me')).toHaveLength(2)
    expect(server.callsTo('POST /auth/wechat-login')).toHaveLength(1)
  })

  test('concurrent 401s share one login', async () => {
    wx.setStorageSync(api.TOKEN_KEY, 'expired')
    const server = mockServer({
      'GET /a': (req) => (req.header.Authorization === 'Bearer fresh' ? { a: 1 } : refusal('auth.token_expired', '过期', 401)),
      'GET /b': (req) => (req.header.Authorization === 'Bearer fresh' ? { b: 1 } : refusal('auth.token_expired', '过期', 401)),
      'POST /auth/wechat-login': () => ({ token: 'fresh', user: { id: 1, role: 'rider' } }),
    })
    await expect(Promise.all([api.get('/a'), api.get('/b')])).resolves.toEqual([{ a: 1 }, { b: 1 }])
    expect(server.callsTo('POST /auth/wechat-login')).toHaveLength(1)
  })

  test('the error envelope becomes an ApiError with code, message, status, details', async () => {
    loggedIn()
    mockServer({
      'POST /checkins': () => refusal('checkin.out_of_range', '您距离驿站约 850 米，请到站后再扫码', 400, { distance_m: 850 }),
    })
    const err = await api.post('/checkins', { scene: 'S1' }).catch((e) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err).toMatchObject({ code: 'checkin.out_of_range', message: '您距离驿站约 850 米，请到站后再扫码', status: 400, details: { distance_m: 850 } })
  })

  test('a non-JSON 502 still becomes an ApiError with a Chinese message', async () => {
    loggedIn()
    mockServer({ 'GET /me': () => ({ status: 502, body: '<html>Bad Gateway</html>' }) })
    await expect(api.get('/me')).rejects.toMatchObject({ name: 'ApiError', code: 'http_502', status: 502, message: '服务暂时不可用，请稍后重试' })
  })

  test('wx.request fail (timeout) is a NetworkError with the Chinese message', async () => {
    loggedIn()
    mockServer({ 'GET /me': () => 'network' })
    const err = await api.get('/me').catch((e) => e)
    expect(err).toBeInstanceOf(api.NetworkError)
    expect(err).not.toBeInstanceOf(api.ApiError)
    expect(err.message).toBe('网络不稳定，请稍后重试')
    expect(err.isTimeout).toBe(true)
  })

  test('Idempotency-Key is sent, and the same key is reused when the caller retries', async () => {
    loggedIn()
    let first = true
    const server = mockServer({
      'POST /redemptions': () => {
        if (first) {
          first = false
          return 'network'
        }
        return { id: 3, code: 'AB12CD34', status: 'pending' }
      },
    })
    const redemptions = require('../../src/services/redemptions')
    const key = api.newIdempotencyKey()
    await expect(redemptions.redeem(5, { idempotencyKey: key })).rejects.toBeInstanceOf(api.NetworkError)
    await expect(redemptions.redeem(5, { idempotencyKey: key })).resolves.toMatchObject({ code: 'AB12CD34' })
    const calls = server.callsTo('POST /redemptions')
    expect(calls.map((c) => c.header['Idempotency-Key'])).toEqual([key, key])
    expect(calls[0].data).toEqual({ reward_id: 5 })
  })

  test('the Idempotency-Key survives a silent re-login retry', async () => {
    wx.setStorageSync(api.TOKEN_KEY, 'expired')
    const server = mockServer({
      'POST /checkins': (req) => (req.header.Authorization === 'Bearer fresh' ? { balance: 1 } : refusal('auth.token_expired', '过期', 401)),
      'POST /auth/wechat-login': () => ({ token: 'fresh', user: { id: 1, role: 'rider' } }),
    })
    await api.post('/checkins', {}, { idempotencyKey: 'k-1' })
    expect(server.callsTo('POST /checkins').map((c) => c.header['Idempotency-Key'])).toEqual(['k-1', 'k-1'])
  })

  test('serverDecided: only a 4xx the server answered ends an Idempotency-Key', async () => {
    loggedIn()
    mockServer({
      'POST /a': () => refusal('checkin.out_of_range', '太远', 400),
      'POST /b': () => refusal('redemption.not_pending', '已取消', 409),
      'POST /c': () => ({ status: 502, body: '<html>Bad Gateway</html>' }),
      'POST /d': () => refusal('internal_error', '服务繁忙，请稍后再试', 500),
      'POST /e': () => 'network',
    })
    const errs = await Promise.all(['/a', '/b', '/c', '/d', '/e'].map((p) => api.post(p, {}).catch((e) => e)))
    expect(errs.map(api.serverDecided)).toEqual([true, true, false, false, false])
    expect(api.serverDecided(new api.ApiError({ code: 'client.location_denied', message: '无法获取位置' }))).toBe(false)
    expect(api.serverDecided(new Error('boom'))).toBe(false)
  })

  test('a list in the query is the parameter repeated (the server\'s list filters: ?state=a&state=b)', () => {
    expect(api.toQuery({ state: ['received', 'returned'], mine: undefined, page: 1 })).toBe('?state=received&state=returned&page=1')
    expect(api.toQuery({ state: 'received', page: 2 })).toBe('?state=received&page=2')
    expect(api.toQuery({ state: [], q: '' })).toBe('')
    expect(api.toQuery({ note: ['a b', '退回'] })).toBe('?note=a%20b&note=%E9%80%80%E5%9B%9E')
  })

  test('fresh keys are unique', () => {
    const keys = new Set(Array.from({ length: 500 }, () => api.newIdempotencyKey()))
    expect(keys.size).toBe(500)
  })

  test('uploadFile posts multipart field `file` and parses the string body', async () => {
    loggedIn()
    const server = mockServer({ 'POST /uploads': () => ({ id: 'up-1', url: 'https://x/1.jpg' }) })
    await expect(api.uploadFile('wxfile://a.jpg')).resolves.toEqual({ id: 'up-1', url: 'https://x/1.jpg' })
    const opts = wx.uploadFile.mock.calls[0][0]
    expect(opts).toMatchObject({ url: `${BASE}/uploads`, name: 'file', filePath: 'wxfile://a.jpg' })
    expect(opts.header.Authorization).toBe('Bearer tok-1')
    expect(server.callsTo('POST /uploads')).toHaveLength(1)
  })

  test('uploadFile refusal is an ApiError', async () => {
    loggedIn()
    mockServer({ 'POST /uploads': () => refusal('upload.too_large', '图片太大，请压缩后再传', 413) })
    await expect(api.uploadFile('wxfile://a.jpg')).rejects.toMatchObject({ code: 'upload.too_large', status: 413 })
  })
})

describe('downloadFile (posters, certificates)', () => {
  test('carries the token; headers come through onHeadersReceived; 401 re-logs in once', async () => {
    wx.setStorageSync(api.TOKEN_KEY, 'expired')
    const server = mockServer({
      'GET /me/service-hours/certificate': (req) =>
        req.header.Authorization === 'Bearer fresh'
          ? { status: 200, body: 'PNG', header: { 'x-certificate-code': 'C0DE1234' } }
          : refusal('auth.token_expired', '登录已过期', 401),
      'POST /auth/wechat-login': () => ({ token: 'fresh', is_new: false, user: { id: 7, role: 'rider' } }),
    })
    const res = await api.downloadFile('/me/service-hours/certificate', { query: { from: '2024-01-01' } })
    expect(res.tempFilePath).toMatch(/^wxfile:\/\/tmp\//)
    expect(api.headerValue(res.header, 'X-Certificate-Code')).toBe('C0DE1234')
    expect(server.callsTo('GET /me/service-hours/certificate')).toHaveLength(2)
    expect(wx.downloadFile.mock.calls[1][0].url).toBe(`${BASE}/me/service-hours/certificate?from=2024-01-01`)
  })

  test('a refusal reads the error envelope from the downloaded file; a failure is a NetworkError', async () => {
    loggedIn()
    let mode = 'refuse'
    mockServer({ 'GET /admin/stations/3/qrcode.png': () => (mode === 'refuse' ? refusal('auth.forbidden', '您没有权限查看该驿站', 403) : 'network') })
    await expect(api.downloadFile('/admin/stations/3/qrcode.png')).rejects.toMatchObject({ name: 'ApiError', code: 'auth.forbidden', message: '您没有权限查看该驿站', status: 403 })
    mode = 'network'
    await expect(api.downloadFile('/admin/stations/3/qrcode.png')).rejects.toBeInstanceOf(api.NetworkError)
  })
})

describe('config', () => {
  afterEach(() => config.setBaseUrl(BASE))

  test('develop points at the local `make run` server; setBaseUrl overrides', () => {
    config.setBaseUrl(null)
    expect(config.getBaseUrl()).toBe('http://127.0.0.1:5000/api/v1')
    wx.getAccountInfoSync = jest.fn(() => ({ miniProgram: { envVersion: 'release' } }))
    expect(config.getBaseUrl()).toBe(config.RELEASE_API_BASE_URL)
    config.setBaseUrl('http://10.0.0.2:8000/api/v1/')
    expect(config.getBaseUrl()).toBe('http://10.0.0.2:8000/api/v1')
  })
})
