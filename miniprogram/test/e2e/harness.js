// Page logic in Node: `Page(def)` is captured, and an instance gets `data` and a `setData`
// that understands WeChat's path keys ("a.b", "items[2].x"). Lifecycles are called by tests.
// Also: actors (one `wx` per person, swapped in before they act), a small real JPEG, and
// the live server's URLs.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createWx } = require('./wx-shim')

const API_URL = process.env.FENGCHAO_API_URL
const SANDBOX_URL = process.env.FENGCHAO_SANDBOX_URL
const SRC = path.resolve(__dirname, '../../src')

function setPath(target, key, value) {
  const parts = key.replace(/\[(\d+)\]/g, '.$1').split('.')
  let node = target
  for (let i = 0; i < parts.length - 1; i += 1) {
    if (node[parts[i]] === undefined || node[parts[i]] === null) node[parts[i]] = /^\d+$/.test(parts[i + 1]) ? [] : {}
    node = node[parts[i]]
  }
  node[parts[parts.length - 1]] = value
}

const defs = {}

/** A fresh instance of the page at `route` (e.g. 'packages/checkin/scan/index'). */
function openPage(route) {
  if (!defs[route]) {
    // required once (the module registry is shared with the test, so config and handoff are too)
    global.Page = (d) => {
      defs[route] = d
    }
    require(path.join(SRC, route))
  }
  const def = defs[route]
  if (!def) throw new Error(`${route} did not call Page()`)
  const { data = {}, ...rest } = def
  const page = { data: JSON.parse(JSON.stringify(data)), route }
  for (const [k, v] of Object.entries(rest)) page[k] = typeof v === 'function' ? v.bind(page) : v
  page.setData = (patch) => {
    for (const [k, v] of Object.entries(patch)) setPath(page.data, k, v === undefined ? undefined : JSON.parse(JSON.stringify(v)))
  }
  return page
}

let nonce = 0
/** One person with their own phone (storage, location, network). `act()` makes them the current `wx`. */
function actor(openid, options = {}) {
  const wx = createWx({ loginCode: () => `sandbox:${openid}:n${Date.now().toString(36)}${(nonce += 1)}`, ...options })
  return {
    openid,
    wx,
    act() {
      global.wx = wx
      return this
    },
  }
}

// A real 8×8 baseline JPEG (grey), made with Pillow: small enough to inline, valid for the
// server's image checks (it re-encodes and strips EXIF).
const JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAooooA/9k='

/** Write the JPEG to a temp file (a `wxfile://` stand-in) and return its path. */
function jpegFile(name = 'photo') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fc-e2e-'))
  const file = path.join(dir, `${name}.jpg`)
  fs.writeFileSync(file, Buffer.from(JPEG_BASE64, 'base64'))
  return file
}

const flush = (ms = 20) => new Promise((r) => setTimeout(r, ms))

/** Poll `fn` until it returns a truthy value (the page's async work after a lifecycle call). */
async function until(fn, { timeoutMs = 10000, stepMs = 25 } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition')
    await flush(stepMs)
  }
}

module.exports = { API_URL, SANDBOX_URL, SRC, openPage, actor, jpegFile, JPEG_BASE64, flush, until }
