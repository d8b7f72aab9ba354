// API base URL per environment. The deployer sets RELEASE_API_BASE_URL (an https
// domain registered as a request domain in the mini-program admin console).
const RELEASE_API_BASE_URL = 'https://fengchao.example.com/api/v1'

const BASE_URLS = {
  develop: 'http://127.0.0.1:5000/api/v1', // `make run`
  trial: RELEASE_API_BASE_URL,
  release: RELEASE_API_BASE_URL,
}

// Subscribe-message template ids come from the server (GET /me/subscriptions), configured
// there per notification kind (WECHAT_TEMPLATES_JSON / WECHAT_TEMPLATE_<KIND>).
// Fallback {kind: template_id}, used only while the server's list has never been loaded on this
// phone (wx.requestSubscribeMessage must run inside the tap, it cannot wait for the network):
// the deployer may copy the server's ids here; empty, such a tap asks nothing that time.
const FALLBACK_TEMPLATE_IDS = {}

const REQUEST_TIMEOUT_MS = 15000

let overrideBaseUrl = null

function envVersion() {
  try {
    return wx.getAccountInfoSync().miniProgram.envVersion || 'develop'
  } catch {
    return 'develop'
  }
}

function getBaseUrl() {
  if (overrideBaseUrl) return overrideBaseUrl
  return BASE_URLS[envVersion()] || BASE_URLS.develop
}

/** Override the base URL (tests, e2e, a debug switch); pass null to restore the default. */
function setBaseUrl(url) {
  overrideBaseUrl = url ? String(url).replace(/\/+$/, '') : null
}

module.exports = {
  BASE_URLS,
  RELEASE_API_BASE_URL,
  REQUEST_TIMEOUT_MS,
  FALLBACK_TEMPLATE_IDS,
  getBaseUrl,
  setBaseUrl,
}
