// Test helpers: a fake API server behind the mocked wx.request, and page/component loaders.
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')
const config = require('../src/config')

const SRC = path.resolve(__dirname, '../src')
const BASE = 'http://api.test/api/v1'
config.setBaseUrl(BASE)

/**
 * mockServer({'GET /stations/nearby': (req) => body | {status, body}}) installs wx.request
 * and wx.uploadFile. A handler may return a body (200), {status, body[, header]}, or 'network' (fail).
 * Unknown routes answer the server's 404 envelope.
 */
function mockServer(routes = {}) {
  const calls = []
  const resolve = (method, url) => {
    const [pathPart, qs] = url.replace(BASE, '').split('?')
    const query = {}
    if (qs) for (const pair of qs.split('&')) {
      const [k, v] = pair.split('=')
      query[decodeURIComponent(k)] = decodeURIComponent(v || '')
    }
    const exact = routes[`${method} ${pathPart}`]
    if (exact) return { handler: exact, path: pathPart, query, params: [] }
    for (const key of Object.keys(routes)) {
      const [m, pattern] = key.split(' ')
      if (m !== method || !pattern.includes(':')) continue
      const re = new RegExp(`^${pattern.replace(/:[^/]+/g, '([^/]+)')}$`)
      const match = re.exec(pathPart)
      if (match) return { handler: routes[key], path: pathPart, query, params: match.slice(1) }
    }
    return { handler: null, path: pathPart, query, params: [] }
  }
  const answer = (opts, method, data) => {
    const { handler, path: p, query, params } = resolve(method, opts.url)
    const req = { method, path: p, query, params, data, header: opts.header || {}, filePath: opts.filePath }
    calls.push(req)
    let out = handler
      ? handler(req)
      : { status: 404, body: { code: 'not_found', message: '请求的资源不存在', status: 404, details: {} } }
    setTimeout(() => {
      if (out === 'network') return opts.fail({ errMsg: 'request:fail timeout' })
      if (!out || out.status === undefined || out.body === undefined) out = { status: 200, body: out }
      const body = opts.filePath ? JSON.stringify(out.body) : out.body
      opts.success({ statusCode: out.status, data: body, header: out.header || {} })
    }, 0)
    return { abort() {} }
  }
  // downloadFile: a handler returns {status, body, header}; the body lands in a temp file that
  // wx.getFileSystemManager().readFileSync reads back (the error envelope of a refusal).
  const files = new Map()
  const download = (opts) => {
    const { handler, path: p, query, params } = resolve('GET', opts.url)
    const req = { method: 'GET', path: p, query, params, header: opts.header || {}, download: true }
    calls.push(req)
    let out = handler ? handler(req) : { status: 404, body: { code: 'not_found', message: '请求的资源不存在', status: 404, details: {} } }
    const listeners = []
    setTimeout(() => {
      if (out === 'network') return opts.fail({ errMsg: 'downloadFile:fail timeout' })
      if (!out || out.status === undefined || out.body === undefined) out = { status: 200, body: out }
      const tempFilePath = `wxfile://tmp/download-${calls.length}`
      files.set(tempFilePath, typeof out.body === 'string' ? out.body : JSON.stringify(out.body))
      listeners.forEach((fn) => fn({ header: out.header || {} }))
      opts.success({ statusCode: out.status, tempFilePath })
    }, 0)
    return { abort() {}, onHeadersReceived: (fn) => listeners.push(fn) }
  }
  wx.request = jest.fn((opts) => answer(opts, opts.method || 'GET', opts.data))
  wx.uploadFile = jest.fn((opts) => answer(opts, 'POST', opts.formData))
  wx.downloadFile = jest.fn(download)
  const fsm = wx.getFileSystemManager()
  wx.getFileSystemManager = jest.fn(() => ({
    ...fsm,
    readFileSync: (filePath) => {
      if (!files.has(filePath)) throw new Error(`readFileSync:fail no such file ${filePath}`)
      return files.get(filePath)
    },
  }))
  return {
    calls,
    callsTo(key) {
      const [m, p] = key.split(' ')
      return calls.filter((c) => c.method === m && c.path === p)
    },
  }
}

const refusal = (code, message, status = 400, details = {}) => ({ status, body: { code, message, status, details } })

/** Load a page or component once per test file (simulator limitation); maps @vant/weapp to miniprogram_npm. */
function load(route) {
  const json = JSON.parse(fs.readFileSync(path.join(SRC, `${route}.json`), 'utf8'))
  const usingComponents = {}
  for (const [tag, p] of Object.entries(json.usingComponents || {})) {
    if (p.startsWith('@vant/weapp/')) usingComponents[tag] = `/miniprogram_npm/${p}`
  }
  return simulate.load(path.join(SRC, route), { rootPath: SRC, usingComponents })
}

function render(id, props) {
  const comp = simulate.render(id, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// Let pending work settle: many short macrotask turns rather than one fixed delay, so a
// chain of mocked requests (each answered on its own timer) completes even on a loaded CI box.
const flush = async (turns = 10) => {
  for (let i = 0; i < Math.max(turns, 10); i += 1) await simulate.sleep(1)
}
const text = (comp, selector) => {
  const node = comp.querySelector(selector)
  return node ? node.dom.textContent.trim() : null
}
const all = (comp, selector) => comp.querySelectorAll(selector)
/** Everything the user can read on the rendered page (child components included). */
const pageText = (comp) => comp.dom.textContent

/** Put a token in storage so requests are authenticated. */
function loggedIn(user = { id: 1, role: 'rider' }) {
  wx.setStorageSync('fengchao.token', 'tok-1')
  wx.setStorageSync('fengchao.user', user)
}

/**
 * A wx.request that holds every request until the test answers it, in any order it likes
 * (a weak network answering late and out of order): answer(part, body) answers the first
 * held request whose URL contains `part`.
 */
function heldServer() {
  const held = []
  wx.request = jest.fn((opts) => {
    held.push(opts)
    return { abort() {} }
  })
  return {
    held,
    answer(part, body) {
      const i = held.findIndex((o) => o.url.includes(part))
      if (i < 0) throw new Error(`no held request for ${part}`)
      const [opts] = held.splice(i, 1)
      opts.success({ statusCode: 200, data: body, header: {} })
    },
  }
}

module.exports = { SRC, BASE, mockServer, heldServer, refusal, load, render, flush, text, all, pageText, loggedIn }
