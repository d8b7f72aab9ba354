// A `wx` for Node 20 (global fetch/FormData/Blob) so the real services/ run against a live
// server: request, uploadFile, login (sandbox code), storage, location, no-op UI.
const fs = require('fs')
const path = require('path')

function createWx({ storage = {}, loginCode = () => `sandbox:o_e2e_${Date.now()}`, location = { latitude: 34.7466, longitude: 113.6253, accuracy: 15 } } = {}) {
  const store = new Map(Object.entries(storage))
  const done = (opts, key, value) => {
    if (opts[key]) opts[key](value)
    if (opts.complete) opts.complete(value)
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
    const timer = setTimeout(() => controller.abort(), opts.timeout || 15000)
    fetch(url, { method, headers: header, body, signal: controller.signal })
      .then(async (res) => {
        const text = await res.text()
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
    const form = new FormData()
    for (const [k, v] of Object.entries(opts.formData || {})) form.append(k, v)
    const bytes = fs.readFileSync(opts.filePath)
    form.append(opts.name, new Blob([bytes], { type: 'image/jpeg' }), path.basename(opts.filePath))
    fetch(opts.url, { method: 'POST', headers: opts.header || {}, body: form })
      .then(async (res) => done(opts, 'success', { statusCode: res.status, data: await res.text() }))
      .catch((err) => done(opts, 'fail', { errMsg: `uploadFile:fail ${err.message}` }))
  }

  return {
    request,
    uploadFile,
    login: (opts) => setTimeout(() => done(opts, 'success', { code: loginCode(), errMsg: 'login:ok' }), 0),
    getStorageSync: (k) => (store.has(k) ? store.get(k) : ''),
    setStorageSync: (k, v) => store.set(k, v),
    removeStorageSync: (k) => store.delete(k),
    getLocation: (opts) => setTimeout(() => done(opts, 'success', { ...location }), 0),
    getAccountInfoSync: () => ({ miniProgram: { envVersion: 'develop' } }),
    onNetworkStatusChange: () => {},
    showToast: () => {},
    showLoading: () => {},
    hideLoading: () => {},
    stopPullDownRefresh: () => {},
  }
}

module.exports = { createWx }
