// A 401 answered late for a request sent with the OLD token, after a parallel request's silent
// re-login has stored a NEW one: the new token is kept and the request retried with it at once —
// no second wx.login / POST /auth/wechat-login (server logins count against a per-address limit).
const api = require('../../src/services/request')

/**
 * wx.request/uploadFile/downloadFile: the login answers token `new<n>`; a request with the old
 * token gets a 401 (after `lateMs` for paths containing 'slow'); any other token gets 200.
 */
function server({ lateMs = 60 } = {}) {
  const seen = []
  const logins = () => seen.filter((s) => s.path === '/auth/wechat-login').length
  const route = (opts) => {
    const path = opts.url.replace(/^https?:\/\/[^/]+(\/api\/v1)?/, '').split('?')[0]
    const auth = (opts.header || {}).Authorization
    seen.push({ path, auth })
    if (path === '/auth/wechat-login') {
      return { status: 200, body: { token: `new${logins()}`, is_new: false, user: { id: 1, role: 'rider' } }, delay: 5 }
    }
    if (auth === 'Bearer old') {
      return { status: 401, body: { code: 'auth.token_expired', message: '登录已过期', status: 401 }, delay: `${path}${opts.filePath || ''}`.includes('slow') ? lateMs : 0 }
    }
    return { status: 200, body: { ok: true, path }, delay: 0 }
  }
  wx.request = jest.fn((opts) => {
    const r = route(opts)
    setTimeout(() => opts.success({ statusCode: r.status, data: r.body, header: {} }), r.delay)
    return { abort() {} }
  })
  wx.uploadFile = jest.fn((opts) => {
    const r = route(opts)
    setTimeout(() => opts.success({ statusCode: r.status, data: JSON.stringify(r.body), header: {} }), r.delay)
    return { abort() {} }
  })
  wx.downloadFile = jest.fn((opts) => {
    const r = route(opts)
    setTimeout(() => opts.success({ statusCode: r.status, tempFilePath: 'wxfile://tmp/x' }), r.delay)
    return { abort() {}, onHeadersReceived() {} }
  })
  return { seen, logins, retriesOf: (part) => seen.filter((s) => s.path.includes(part)).map((s) => s.auth) }
}

beforeEach(() => wx.setStorageSync(api.TOKEN_KEY, 'old'))

test('request: a late 401 for the old token retries with the new token, no second login', async () => {
  const s = server()
  await expect(Promise.all([api.get('/fast'), api.get('/slow')])).resolves.toEqual([
    { ok: true, path: '/fast' },
    { ok: true, path: '/slow' },
  ])
  expect(s.logins()).toBe(1)
  expect(wx.login).toHaveBeenCalledTimes(1)
  expect(s.retriesOf('/slow')).toEqual(['Bearer old', 'Bearer new1'])
  expect(wx.getStorageSync(api.TOKEN_KEY)).toBe('new1')
})

test('uploadFile: a late 401 for the old token retries with the new token, no second login', async () => {
  const s = server()
  await Promise.all([api.get('/fast'), api.uploadFile('wxfile://photo-slow.jpg')])
  expect(s.logins()).toBe(1)
  expect(s.retriesOf('/uploads')).toEqual(['Bearer old', 'Bearer new1'])
  expect(wx.getStorageSync(api.TOKEN_KEY)).toBe('new1')
})

test('downloadFile: a late 401 for the old token retries with the new token, no second login', async () => {
  const s = server()
  await Promise.all([api.get('/fast'), api.downloadFile('/admin/stations/3/qrcode-slow.png')])
  expect(s.logins()).toBe(1)
  expect(s.retriesOf('qrcode-slow')).toEqual(['Bearer old', 'Bearer new1'])
  expect(wx.getStorageSync(api.TOKEN_KEY)).toBe('new1')
})

test('a 401 for the token still stored clears it and logs in again, as before', async () => {
  const s = server()
  await expect(api.get('/slow')).resolves.toEqual({ ok: true, path: '/slow' })
  expect(s.logins()).toBe(1)
  expect(s.retriesOf('/slow')).toEqual(['Bearer old', 'Bearer new1'])
})
