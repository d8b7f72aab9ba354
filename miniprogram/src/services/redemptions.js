const api = require('./request')

const STATUS_NAMES = { pending: '待核销', fulfilled: '已领取', cancelled: '已取消', expired: '已过期' }

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

module.exports = { STATUS_NAMES, voucherCode, redeem, myRedemptions, cancel, lookup, fulfil }
