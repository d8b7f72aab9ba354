const api = require('./request')

const STATUS_NAMES = { pending: '待核销', fulfilled: '已领取', cancelled: '已取消', expired: '已过期' }

// The Idempotency-Key of a redemption whose outcome is unknown (timeout, network failure,
// 5xx) is kept in storage per user and reward, so a tap after leaving the page or
// restarting the app replays the first attempt instead of deducting again.
const PENDING_KEYS = 'fengchao.pendingRedeemKeys'
const PENDING_MAX_AGE_MS = 24 * 60 * 60 * 1000

// Storage can be full (wx.setStorageSync throws): a key that could not be stored is kept
// here, so it is still reused for this app run; a key that could not be removed from
// storage is remembered as settled, so it is not reused.
const memory = { entries: {}, settled: new Set() }

/** Tests: forget the in-memory fallback. */
function resetPendingMemory() {
  memory.entries = {}
  memory.settled = new Set()
}

function readStore() {
  try {
    const store = wx.getStorageSync(PENDING_KEYS)
    return store && typeof store === 'object' ? store : {}
  } catch {
    return {}
  }
}

/** Save the store; false when storage refused it (full). */
function writeStore(store) {
  try {
    wx.setStorageSync(PENDING_KEYS, store)
    return true
  } catch {
    return false
  }
}

function loadPendingKeys() {
  const now = Date.now()
  const kept = {}
  for (const [slot, entry] of Object.entries({ ...readStore(), ...memory.entries })) {
    if (entry && entry.key && !memory.settled.has(entry.key) && now - entry.at < PENDING_MAX_AGE_MS) kept[slot] = entry
  }
  return kept
}

function currentUserId() {
  try {
    const user = api.getCachedUser()
    return (user && user.id) || ''
  } catch {
    return ''
  }
}

/**
 * The pending entry of this reward, {slot, key, at}, or null. A key made before the user
 * was cached (e.g. a 401 re-login during the request) is filed under ":<rewardId>": it is
 * found whether or not the user id is known now.
 */
function findPending(rewardId, store = loadPendingKeys()) {
  const uid = currentUserId()
  const slots = uid ? [`${uid}:${rewardId}`, `:${rewardId}`] : [`:${rewardId}`]
  const slot = slots.find((s) => store[s])
  return slot ? { slot, ...store[slot] } : null
}

/**
 * The key for redeeming this reward: {key, slot, at, reused}. The stored one of an
 * unsettled attempt (reused: true), else a new one stored at once (in memory if storage is full).
 * Settle it with settleRedeemKey(slot) once the server has answered.
 */
function redeemKey(rewardId) {
  const store = loadPendingKeys()
  const found = findPending(rewardId, store)
  if (found) return { ...found, reused: true }
  const slot = `${currentUserId()}:${rewardId}`
  const entry = { key: api.newIdempotencyKey(), at: Date.now() }
  store[slot] = entry
  if (writeStore(store)) memory.entries = {}
  else memory.entries[slot] = entry
  return { slot, ...entry, reused: false }
}

/** The server answered (success or a 4xx refusal): the next tap is a new redemption. Never throws. */
function settleRedeemKey(slot) {
  const store = loadPendingKeys()
  const entry = store[slot] || memory.entries[slot]
  delete store[slot]
  delete memory.entries[slot]
  if (writeStore(store)) memory.entries = {}
  else if (entry) memory.settled.add(entry.key)
}

/** True when an earlier attempt for this reward has an unknown outcome. */
const hasPendingRedeem = (rewardId) => Boolean(findPending(rewardId))

/** 兑换（调用方为同一次兑换的重试传入同一个幂等键） */
const redeem = (rewardId, { idempotencyKey } = {}) =>
  api.post('/redemptions', { reward_id: rewardId }, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })
/** 我的兑换 */
const myRedemptions = (query) => api.get('/me/redemptions', query)
/** 取消兑换（退回积分） */
const cancel = (id, { idempotencyKey } = {}) =>
  api.post(`/redemptions/${id}/cancel`, {}, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })
/** The voucher code from a scanned QR (`fc-voucher:<code>`, the server's qr_payload) or typed text. */
const voucherCode = (text) =>
  String(text || '')
    .trim()
    .replace(/^fc-voucher:/i, '')
    .replace(/[\s-]+/g, '')
    .toUpperCase()
/** 工作人员核销兑换码（扫码内容或手输的码）→ AdminRedemption */
const fulfil = (code, { idempotencyKey } = {}) =>
  api.post(`/redemptions/${encodeURIComponent(voucherCode(code))}/fulfil`, {}, { idempotencyKey: idempotencyKey || api.newIdempotencyKey() })

/** 工作人员核销前查询兑换码（扫码内容或手输的码）→ AdminRedemptionItem */
const lookup = (code) => api.get(`/admin/redemptions/${encodeURIComponent(voucherCode(code))}`)

module.exports = {
  STATUS_NAMES,
  PENDING_KEYS,
  PENDING_MAX_AGE_MS,
  redeemKey,
  settleRedeemKey,
  hasPendingRedeem,
  resetPendingMemory,
  voucherCode,
  redeem,
  myRedemptions,
  cancel,
  lookup,
  fulfil,
}
