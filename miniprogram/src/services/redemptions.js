const api = require('./request')

const STATUS_NAMES = { pending: '待核销', fulfilled: '已领取', cancelled: '已取消', expired: '已过期' }

// The Idempotency-Key of a redemption whose outcome is unknown (timeout, network failure,
// 5xx) is kept in storage per user and reward, so a tap after leaving the page or
// restarting the app replays the first attempt instead of deducting again.
const PENDING_KEYS = 'fengchao.pendingRedeemKeys'
const PENDING_MAX_AGE_MS = 24 * 60 * 60 * 1000

function pendingSlot(rewardId) {
  const user = api.getCachedUser()
  return `${(user && user.id) || ''}:${rewardId}`
}

function loadPendingKeys() {
  const store = wx.getStorageSync(PENDING_KEYS)
  const now = Date.now()
  const kept = {}
  if (store && typeof store === 'object') {
    for (const [slot, entry] of Object.entries(store)) {
      if (entry && entry.key && now - entry.at < PENDING_MAX_AGE_MS) kept[slot] = entry
    }
  }
  return kept
}

/** The key for redeeming this reward: the stored one of an unsettled attempt, else a new one (stored at once). */
function redeemKey(rewardId) {
  const store = loadPendingKeys()
  const slot = pendingSlot(rewardId)
  if (!store[slot]) {
    store[slot] = { key: api.newIdempotencyKey(), at: Date.now() }
    wx.setStorageSync(PENDING_KEYS, store)
  }
  return store[slot].key
}

/** The server answered (success or a 4xx refusal): the next tap is a new redemption. */
function settleRedeemKey(rewardId) {
  const store = loadPendingKeys()
  delete store[pendingSlot(rewardId)]
  wx.setStorageSync(PENDING_KEYS, store)
}

/** True when an earlier attempt for this reward has an unknown outcome. */
const hasPendingRedeem = (rewardId) => Boolean(loadPendingKeys()[pendingSlot(rewardId)])

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
  voucherCode,
  redeem,
  myRedemptions,
  cancel,
  lookup,
  fulfil,
}
