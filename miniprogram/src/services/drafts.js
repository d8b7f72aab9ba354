// Report drafts: saved to storage on every change, submitted with an Idempotency-Key made
// once per draft, photos uploaded first (their upload ids kept), a pending queue retried
// when the network comes back or the app is shown.
const api = require('./request')
const reports = require('./reports')
const uploads = require('./uploads')
const { removePhotos, photoExists } = require('../utils/photos')

const STORE_KEY = 'fengchao.reportDrafts'

// With the phone's storage full (setStorageSync throws) the drafts live in memory for this
// run instead: a resident can still write and send a report (only a restart would lose an
// unsent one). Copies, as storage hands out: callers change what load() returns.
let unstored = null
const copy = (value) => JSON.parse(JSON.stringify(value))

function load() {
  if (unstored) return copy(unstored)
  let store = null
  try {
    store = wx.getStorageSync(STORE_KEY)
  } catch {
    store = null
  }
  return store && store.drafts ? store : { currentId: null, drafts: {} }
}

function persist(store) {
  try {
    wx.setStorageSync(STORE_KEY, store)
    unstored = null
  } catch {
    unstored = copy(store)
  }
}

function blankDraft() {
  return {
    localId: `d${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`,
    idempotencyKey: api.newIdempotencyKey(),
    category_id: null,
    category_name: '',
    description: '',
    lat: null,
    lng: null,
    address: '',
    photos: [], // [{path, uploadId}]
    self_handled: false,
    anonymous: false,
    status: 'editing', // editing | pending | submitted
    lastError: null,
    updatedAt: Date.now(),
  }
}

/** The draft being edited (created if none). */
function getCurrentDraft() {
  const store = load()
  const current = store.currentId && store.drafts[store.currentId]
  if (current && current.status === 'editing') return current
  const draft = blankDraft()
  store.drafts[draft.localId] = draft
  store.currentId = draft.localId
  persist(store)
  return draft
}

function getDraft(localId) {
  return load().drafts[localId] || null
}

/** Merge a change into a draft and save it at once. */
function updateDraft(localId, patch) {
  const store = load()
  const draft = store.drafts[localId]
  if (!draft) return null
  Object.assign(draft, patch, { updatedAt: Date.now() })
  persist(store)
  return draft
}

/** Drop a draft (sent, or 清空草稿) with its saved photo files. */
function discardDraft(localId) {
  const store = load()
  const draft = store.drafts[localId]
  if (draft) removePhotos((draft.photos || []).map((p) => p.path))
  delete store.drafts[localId]
  if (store.currentId === localId) store.currentId = null
  persist(store)
}

/** Every photo path a draft still holds (editing, pending or returned): kept by a sweep. */
function photoPaths() {
  return Object.values(load().drafts).flatMap((d) => (d.photos || []).map((p) => p.path))
}

/** Drafts waiting to be (re)submitted. */
function listPending() {
  return Object.values(load().drafts)
    .filter((d) => d.status === 'pending')
    .sort((a, b) => a.updatedAt - b.updatedAt)
}

function toBody(draft) {
  return {
    category_id: draft.category_id,
    description: draft.description,
    lat: draft.lat,
    lng: draft.lng,
    address: draft.address || null, // none rather than a made-up one: the point is the place
    photo_ids: draft.photos.map((p) => p.uploadId),
    self_handled: Boolean(draft.self_handled),
    anonymous: Boolean(draft.anonymous),
  }
}

/**
 * Refused by the server for good (a 4xx it decided, except 401/408/429): the rider has to
 * change the draft. Anything else (offline, timeout, 5xx, 503, 429) may pass on a later try.
 */
function refused(err) {
  return api.serverDecided(err) && ![401, 408, 429].includes(err.status)
}

// Wait before resending after a 5xx/429: 15 s, 30 s, 1 min … at most 10 min. A server's
// Retry-After (the server sends `Retry-After: 1` on every outage 503) only lengthens it,
// never shortens it, so phones do not all resend every second through an outage; it is
// capped at 1 hour. A network failure has no wait: the queue goes out when the network is back.
const BACKOFF_MS = [15000, 30000, 60000, 120000, 300000, 600000]
const RETRY_AFTER_MAX_MS = 60 * 60 * 1000

function retryDelay(err, attempts) {
  const backoff = BACKOFF_MS[Math.min(Math.max(attempts, 1), BACKOFF_MS.length) - 1]
  const retryAfter = err instanceof api.ApiError && err.retryAfter > 0 ? Math.min(err.retryAfter * 1000, RETRY_AFTER_MAX_MS) : 0
  return Math.max(retryAfter, backoff)
}

// The draft was discarded (清空草稿) before or while it was being sent: nothing more to send.
const DRAFT_GONE = 'client.draft_gone'
const draftGone = () => new api.ApiError({ code: DRAFT_GONE, message: '草稿已清空' })

// A photo not yet uploaded whose file WeChat deleted: no retry can send it, the rider has
// to add it again. The draft goes back to editing without it.
const PHOTO_MISSING = 'client.photo_missing'

function dropMissingPhotos(localId, draft) {
  const missing = draft.photos.filter((p) => !p.uploadId && !photoExists(p.path))
  if (!missing.length) return
  updateDraft(localId, { photos: draft.photos.filter((p) => !missing.includes(p)) })
  throw new api.ApiError({ code: PHOTO_MISSING, message: `有 ${missing.length} 张照片已丢失，请重新添加后再提交` })
}

async function doSubmit(localId, { background = false } = {}) {
  let draft = updateDraft(localId, { status: 'pending', lastError: null })
  if (!draft) throw draftGone()
  const store = load()
  if (store.currentId === localId) {
    store.currentId = null
    persist(store)
  }
  try {
    dropMissingPhotos(localId, draft)
    for (let i = 0; i < draft.photos.length; i += 1) {
      if (!draft.photos[i].uploadId) {
        let uploaded
        try {
          uploaded = await uploads.uploadPhoto(draft.photos[i].path)
        } catch (err) {
          // the file went between the check and the upload (its failure looks like the network's)
          if (!photoExists(draft.photos[i].path)) dropMissingPhotos(localId, getDraft(localId) || draft)
          throw err
        }
        const photos = draft.photos.slice()
        photos[i] = { ...photos[i], uploadId: uploaded.id }
        draft = updateDraft(localId, { photos })
        if (!draft) throw draftGone()
      }
    }
    // {report, possible_duplicates}; a retry with the same key returns the first report
    const created = await reports.createReport(toBody(draft), { idempotencyKey: draft.idempotencyKey })
    discardDraft(localId)
    return created
  } catch (err) {
    if (err.code === DRAFT_GONE) throw err
    if (refused(err) || err.code === PHOTO_MISSING) {
      // refused by the server (e.g. content check) or a photo file lost: back to editing so
      // the user can fix it.
      // Only the rider's own submit makes it the current draft again (and only if no other
      // draft was started meanwhile); a background resend leaves the current draft alone.
      const patch = { status: 'editing', lastError: err.message, attempts: 0, retryAt: null }
      // the server holds another report under this key: sent again, the draft needs its own
      if (err.code === 'idempotency.key_reused') patch.idempotencyKey = api.newIdempotencyKey()
      const returned = updateDraft(localId, patch)
      const s = load()
      if (returned && !background && !(s.currentId && s.drafts[s.currentId])) {
        s.currentId = localId
        persist(s)
      }
    } else {
      // offline, timeout, 5xx, 429: the outcome may be unknown; keep it queued (same key)
      const patch = { status: 'pending', lastError: err.message, retryAt: null }
      if (!(err instanceof api.NetworkError)) {
        patch.attempts = ((getDraft(localId) || {}).attempts || 0) + 1
        patch.retryAt = Date.now() + retryDelay(err, patch.attempts)
      }
      if (updateDraft(localId, patch)) scheduleRetry()
    }
    throw err
  }
}

const inFlight = {}

/**
 * Submit one draft; a second call while the first runs shares its promise (one POST).
 * {background: true} for the queue's automatic resend: it never changes the current draft.
 */
function submitDraft(localId, options) {
  if (!inFlight[localId]) {
    inFlight[localId] = doSubmit(localId, options).finally(() => {
      delete inFlight[localId]
    })
  }
  return inFlight[localId]
}

let flushing = null

/**
 * Retry every pending draft once (those waiting out a server's Retry-After or back-off are
 * skipped unless {force: true}, the rider's 立即重试); resolves with
 * {submitted: [{report, possible_duplicates}], failed: n}.
 */
function flushPending({ force = false } = {}) {
  if (!flushing) {
    flushing = (async () => {
      const submitted = []
      let failed = 0
      for (const draft of listPending()) {
        if (!force && draft.retryAt && draft.retryAt > Date.now()) continue
        try {
          submitted.push(await submitDraft(draft.localId, { background: true }))
        } catch (err) {
          failed += 1
          if (!refused(err) && ![DRAFT_GONE, PHOTO_MISSING].includes(err.code)) break // offline or the server busy: stop, keep the rest queued
        }
      }
      return { submitted, failed }
    })().finally(() => {
      flushing = null
    })
  }
  return flushing
}

let watching = false
let onNetwork = null
let retryTimer = null

/** With auto flush on: resend when the earliest back-off is over. */
function scheduleRetry() {
  if (!watching) return
  if (retryTimer) clearTimeout(retryTimer)
  retryTimer = null
  const times = listPending()
    .map((d) => d.retryAt)
    .filter(Boolean)
  if (!times.length) return
  const wait = Math.max(0, Math.min(...times) - Date.now()) + 50
  retryTimer = setTimeout(() => {
    retryTimer = null
    flushPending().catch(() => {})
  }, wait)
}

/** Retry the queue whenever the network comes back, and when a server back-off is over. */
function startAutoFlush() {
  if (watching || !wx.onNetworkStatusChange) return
  watching = true
  onNetwork = (res) => {
    if (res && res.isConnected) flushPending().catch(() => {})
  }
  wx.onNetworkStatusChange(onNetwork)
  scheduleRetry()
}

/** Stop the automatic resend (tests; a logout). */
function stopAutoFlush() {
  if (retryTimer) clearTimeout(retryTimer)
  retryTimer = null
  if (onNetwork && wx.offNetworkStatusChange) wx.offNetworkStatusChange(onNetwork)
  onNetwork = null
  watching = false
}

/** Drafts sent back to editing (refused) or set aside, other than the current one. */
function listReturned() {
  const store = load()
  const hasContent = (d) => Boolean(d.lastError || d.category_id || (d.description || '').trim() || (d.photos && d.photos.length))
  return Object.values(store.drafts)
    .filter((d) => d.status === 'editing' && d.localId !== store.currentId && hasContent(d))
    .sort((a, b) => a.updatedAt - b.updatedAt)
}

/** The rider chose to edit this draft: it becomes the current one (an empty current draft is dropped). */
function openDraft(localId) {
  const store = load()
  const draft = store.drafts[localId]
  if (!draft || draft.status !== 'editing') return null
  const previous = store.currentId && store.drafts[store.currentId]
  if (previous && previous.localId !== localId && previous.status === 'editing') {
    const empty = !previous.category_id && !(previous.description || '').trim() && !(previous.photos || []).length
    if (empty) delete store.drafts[previous.localId]
  }
  store.currentId = localId
  persist(store)
  return draft
}

module.exports = {
  STORE_KEY,
  DRAFT_GONE,
  PHOTO_MISSING,
  getCurrentDraft,
  getDraft,
  updateDraft,
  discardDraft,
  listPending,
  photoPaths,
  listReturned,
  openDraft,
  refused,
  submitDraft,
  flushPending,
  startAutoFlush,
  stopAutoFlush,
  toBody,
}
