// A `wx` for Node 20 (global fetch/FormData/Blob) so the real services/ run against a live
// server: request, uploadFile, login (sandbox code), storage, location, no-op UI.
//
// `net.mode` plays the network: 'online'; 'offline' (fails before anything is sent); or
// 'lost' (the request reaches the server but the answer never comes back — the hard case for
// duplicates). `net.only` (a RegExp on "METHOD url") limits 'offline'/'lost' to some requests.
// Pass the same `store` Map to a second createWx to "reopen the app" with the same storage.
const fs = require('fs')
const path = require('path')

function createWx({
  store = new Map(),
  loginCode = () => `sandbox:o_e2e_${Date.now()}`,
  location = { latitude: 34.7466, longitude: 113.6253, accuracy: 15 },
  net = { mode: 'online', only: null },
} = {}) {
  location = { ...location }
  const done = (opts, key, value) => {
    if (opts[key]) opts[key](value)
    if (opts.complete) opts.complete(value)
  }
  const networkListeners = []
  const log = [] // every request as "METHOD url" and what the network did with it

  function fate(method, url) {
    const key = `${method} ${url}`
    const applies = !net.only || net.only.test(key)
    const mode = applies ? net.mode : 'online'
    log.push({ key, mode })
    return mode
  }

  function request(opts) {
    const controller = new AbortController()
    const method = (opts.method || 'GET').toUpperCase()
    let url = opts.url
    let body
    const header = { ...(opts.header || {}) }
    if (opts.data !== undefined && opts.data !== null) {
      if (method === 'GET') {
        const qs = new URLSearchParams(opts.data).toString()
        if (qs) url += (url.includes('?') ? '&' : '?') + qs
      } else {
        body = typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data)
        header['Content-Type'] = header['Content-Type'] || 'application/json'
      }
    }
    const mode = fate(method, url)
    if (mode === 'offline') {
      setTimeout(() => done(opts, 'fail', { errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' }), 0)
      return { abort() {} }
    }
    const timer = setTimeout(() => controller.abort(), opts.timeout || 15000)
    fetch(url, { method, headers: header, body, signal: controller.signal })
      .then(async (res) => {
        const text = await res.text()
        if (mode === 'lost') {
          done(opts, 'fail', { errMsg: 'request:fail timeout' })
          return
        }
        let data = text
        try {
          data = text ? JSON.parse(text) : ''
        } catch {
          // non-JSON body stays a string, like WeChat
        }
        const headers = {}
        res.headers.forEach((v, k) => (headers[k] = v))
        done(opts, 'success', { statusCode: res.status, data, header: headers })
      })
      .catch((err) => done(opts, 'fail', { errMsg: `request:fail ${err.name === 'AbortError' ? 'timeout' : err.message}` }))
      .finally(() => clearTimeout(timer))
    return { abort: () => controller.abort() }
  }

  function uploadFile(opts) {
    const mode = fate('POST', opts.url)
    if (mode === 'offline') {
      setTimeout(() => done(opts, 'fail', { errMsg: 'uploadFile:fail net::ERR_INTERNET_DISCONNECTED' }), 0)
      return
    }
    const form = new FormData()
    for (const [k, v] of Object.entries(opts.formData || {})) form.append(k, v)
    const bytes = fs.readFileSync(opts.filePath)
    form.append(opts.name, new Blob([bytes], { type: 'image/jpeg' }), path.basename(opts.filePath))
    fetch(opts.url, { method: 'POST', headers: opts.header || {}, body: form })
      .then(async (res) => {
        const text = await res.text()
        if (mode === 'lost') done(opts, 'fail', { errMsg: 'uploadFile:fail timeout' })
        else done(opts, 'success', { statusCode: res.status, data: text })
      })
      .catch((err) => done(opts, 'fail', { errMsg: `uploadFile:fail ${err.message}` }))
  }

  // downloadFile: the body goes to a temp file; headers reach onHeadersReceived (as in WeChat,
  // whose success callback carries none); getFileSystemManager reads a refusal's envelope back.
  function downloadFile(opts) {
    const headerListeners = []
    const mode = fate('GET', opts.url)
    if (mode === 'offline') {
      setTimeout(() => done(opts, 'fail', { errMsg: 'downloadFile:fail net::ERR_INTERNET_DISCONNECTED' }), 0)
    } else {
      fetch(opts.url, { headers: opts.header || {} })
        .then(async (res) => {
          const bytes = Buffer.from(await res.arrayBuffer())
          if (mode === 'lost') return done(opts, 'fail', { errMsg: 'downloadFile:fail timeout' })
          const headers = {}
          res.headers.forEach((v, k) => (headers[k] = v))
          headerListeners.forEach((fn) => fn({ header: headers }))
          const file = path.join(fs.mkdtempSync(path.join(require('os').tmpdir(), 'fc-dl-')), 'download')
          fs.writeFileSync(file, bytes)
          return done(opts, 'success', { statusCode: res.status, tempFilePath: file })
        })
        .catch((err) => done(opts, 'fail', { errMsg: `downloadFile:fail ${err.message}` }))
    }
    return { abort() {}, onHeadersReceived: (fn) => headerListeners.push(fn) }
  }

  return {
    __net: net,
    __store: store,
    __log: log,
    /** Flip the network and tell the listeners (like WeChat's onNetworkStatusChange). */
    __setNetwork(mode, only = null) {
      net.mode = mode
      net.only = only
      for (const fn of networkListeners) fn({ isConnected: mode !== 'offline', networkType: mode === 'offline' ? 'none' : 'wifi' })
    },
    request,
    uploadFile,
    downloadFile,
    getFileSystemManager: () => ({ readFileSync: (file, encoding) => fs.readFileSync(file, encoding) }),
    login: (opts) => setTimeout(() => done(opts, 'success', { code: loginCode(), errMsg: 'login:ok' }), 0),
    // stored as JSON, handed back as a copy (like WeChat)
    getStorageSync: (k) => (store.has(k) ? JSON.parse(store.get(k)) : ''),
    setStorageSync: (k, v) => store.set(k, JSON.stringify(v)),
    removeStorageSync: (k) => store.delete(k),
    __setLocation(lat, lng, accuracy = 10) {
      Object.assign(location, { latitude: lat, longitude: lng, accuracy })
    },
    getLocation: (opts) => setTimeout(() => done(opts, 'success', { ...location }), 0),
    getAccountInfoSync: () => ({ miniProgram: { envVersion: 'develop' } }),
    onNetworkStatusChange: (fn) => networkListeners.push(fn),
    requestSubscribeMessage: (opts) =>
      setTimeout(() => done(opts, 'success', Object.fromEntries((opts.tmplIds || []).map((id) => [id, 'accept']))), 0),
    showToast: () => {},
    showLoading: () => {},
    hideLoading: () => {},
    showModal: (opts) => setTimeout(() => done(opts, 'success', { confirm: true }), 0),
    stopPullDownRefresh: () => {},
    setNavigationBarTitle: () => {},
    makePhoneCall: () => {},
    openLocation: () => {},
    previewImage: () => {},
    saveImageToPhotosAlbum: (opts) => setTimeout(() => done(opts, 'success', {}), 0),
    navigateTo: () => {},
    redirectTo: () => {},
    switchTab: () => {},
    vibrateShort: () => {},
  }
}

module.exports = { createWx }
