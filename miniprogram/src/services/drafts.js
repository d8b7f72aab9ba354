// Report drafts: saved to storage on every change, submitted with an Idempotency-Key made
// once per draft, photos uploaded first (their upload ids kept), a pending queue retried
// when the network comes back or the app is shown.
const api = require('./request')
const reports = require('./reports')
const uploads = require('./uploads')

const STORE_KEY = 'fengchao.reportDrafts'

function load() {
  const store = wx.getStorageSync(STORE_KEY)
  return store && store.drafts ? store : { currentId: null, drafts: {} }
}

function persist(store) {
  wx.setStorageSync(STORE_KEY, store)
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

function discardDraft(localId) {
  const store = load()
  delete store.drafts[localId]
  if (store.currentId === localId) store.currentId = null
  persist(store)
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
    address: draft.address,
    photo_ids: draft.photos.map((p) => p.uploadId),
    self_handled: Boolean(draft.self_handled),
    anonymous: Boolean(draft.anonymous),
  }
}

async function doSubmit(localId) {
  let draft = updateDraft(localId, { status: 'pending', lastError: null })
  if (!draft) throw new Error(`no draft ${localId}`)
  const store = load()
  if (store.currentId === localId) {
    store.currentId = null
    persist(store)
  }
  try {
    for (let i = 0; i < draft.photos.length; i += 1) {
      if (!draft.photos[i].uploadId) {
        const uploaded = await uploads.uploadPhoto(draft.photos[i].path)
        const photos = draft.photos.slice()
        photos[i] = { ...photos[i], uploadId: uploaded.id }
        draft = updateDraft(localId, { photos })
      }
    }
    // {report, possible_duplicates}; a retry with the same key returns the first report
    const created = await reports.createReport(toBody(draft), { idempotencyKey: draft.idempotencyKey })
    discardDraft(localId)
    return created
  } catch (err) {
    if (err instanceof api.NetworkError) {
      updateDraft(localId, { status: 'pending', lastError: err.message })
    } else {
      // refused by the server (e.g. content check): back to editing so the user can fix it
      updateDraft(localId, { status: 'editing', lastError: err.message })
      const s = load()
      s.currentId = localId
      persist(s)
    }
    throw err
  }
}

const inFlight = {}

/** Submit one draft; a second call while the first runs shares its promise (one POST). */
function submitDraft(localId) {
  if (!inFlight[localId]) {
    inFlight[localId] = doSubmit(localId).finally(() => {
      delete inFlight[localId]
    })
  }
  return inFlight[localId]
}

let flushing = null

/** Retry every pending draft once; resolves with {submitted: [{report, possible_duplicates}], failed: n}. */
function flushPending() {
  if (!flushing) {
    flushing = (async () => {
      const submitted = []
      let failed = 0
      for (const draft of listPending()) {
        try {
          submitted.push(await submitDraft(draft.localId))
        } catch (err) {
          failed += 1
          if (err instanceof api.NetworkError) break // still offline: stop, keep the rest queued
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

/** Retry the queue whenever the network comes back. */
function startAutoFlush() {
  if (watching || !wx.onNetworkStatusChange) return
  watching = true
  wx.onNetworkStatusChange((res) => {
    if (res && res.isConnected) flushPending().catch(() => {})
  })
}

module.exports = {
  STORE_KEY,
  getCurrentDraft,
  getDraft,
  updateDraft,
  discardDraft,
  listPending,
  submitDraft,
  flushPending,
  startAutoFlush,
  toBody,
}
