// Staff fulfil a redemption: scan the voucher QR (it encodes the code) or type the code,
// look it up first (what it is, whether it is still pending), then hand over on 确认发放.
const redemptions = require('../../../services/redemptions')
const { getCachedUser, newIdempotencyKey, serverDecided } = require('../../../services/request')
const { formatTime } = require('../../../utils/format')
const { scanCode } = require('../../../utils/scene')
const { errorMessage } = require('../../../utils/ui')
const { latest } = require('../../../utils/list')

/**
 * What a looked-up voucher shows before anything is handed over, and whether 确认发放 is
 * offered: not for a voucher past its expiry that the hourly expiry job has not closed yet
 * (still `pending` on the server, which refuses it), nor for the staff member's own voucher
 * (the server refuses it: 403 redemption.self_fulfil, goods leaving the stock need a second
 * person).
 */
function voucherView(r, code, me, now = Date.now()) {
  let status = r.status || ''
  const expiry = Date.parse(r.expires_at || '')
  if (status === 'pending' && !Number.isNaN(expiry) && expiry <= now) status = 'expired'
  const statusName = redemptions.STATUS_NAMES[status] || status || '未知'
  const mine = Boolean(me && me.id !== undefined && r.user_id === me.id)
  let note = ''
  if (status === 'fulfilled') note = `该兑换码已于 ${formatTime(r.fulfilled_at) || '此前'} 核销，请勿重复发放`
  else if (status === 'expired') note = r.status === 'pending' ? '该兑换码已过期，不能发放；积分将自动退回兑换人' : '该兑换码已过期，不能发放'
  else if (status === 'cancelled') note = '该兑换码已取消，积分已退回，不能发放'
  else if (status !== 'pending') note = '该兑换码当前不可核销'
  else if (mine) note = '这是您本人的兑换码，不能自己核销，请由其他工作人员发放'
  return {
    code: r.code || code,
    rewardName: r.reward_name || '奖品',
    cost: r.cost === undefined || r.cost === null ? '' : r.cost,
    status,
    statusName,
    expiresAt: formatTime(r.expires_at),
    canFulfil: status === 'pending' && !mine,
    // who holds it, masked (张**, the phone's last 4 digits): ask the person presenting it
    holder: r.holder_name ? `${r.holder_name}${r.holder_phone_tail ? `（手机尾号 ${r.holder_phone_tail}）` : ''}` : '',
    note,
  }
}

Page({
  data: { code: '', busy: false, voucher: null, result: null, error: '' },

  onInput(e) {
    const code = redemptions.voucherCode(e.detail.value)
    if (code === this.data.code) return
    // a lookup still on its way is for the code before this edit: its answer is dropped
    latest(this, 'lookup')
    this.setData({ code, error: '', voucher: null })
  },

  async onScan() {
    if (this.busy) return
    let res
    try {
      res = await scanCode()
    } catch {
      return
    }
    this.setData({ code: redemptions.voucherCode(res.result), voucher: null })
    await this.onLookup()
  },

  /** Look the voucher up: nothing is handed over until the staff member confirms. */
  async onLookup() {
    if (this.busy) return
    const code = this.data.code
    if (!code) {
      this.setData({ error: '请扫描或输入兑换码' })
      return
    }
    const isLatest = latest(this, 'lookup')
    this.busy = true
    this.setData({ busy: true, error: '', result: null, voucher: null })
    try {
      const r = await redemptions.lookup(code)
      if (!isLatest()) return // the code was changed meanwhile: do not show this voucher under it
      const me = getCachedUser()
      if (r.status === 'fulfilled' && this.pending && this.pending.code === code && me && r.fulfilled_by_id === me.id) {
        // My own earlier 确认发放 went through; only its answer was lost.
        this.pending = null
        this.setData({ result: { rewardName: r.reward_name || '奖品', userName: '', code }, code: '' })
        return
      }
      this.setData({ voucher: voucherView(r, code, me) })
    } catch (err) {
      if (isLatest()) this.setData({ error: errorMessage(err) })
    } finally {
      this.busy = false
      this.setData({ busy: false })
    }
  },

  /** 确认发放: one Idempotency-Key per voucher, kept across retries whose outcome is unknown. */
  async onFulfil() {
    if (this.busy) return
    const voucher = this.data.voucher
    if (!voucher || !voucher.canFulfil) return
    const code = voucher.code
    if (!this.pending || this.pending.code !== code) this.pending = { code, key: newIdempotencyKey() }
    this.busy = true
    this.setData({ busy: true, error: '', result: null })
    try {
      const r = await redemptions.fulfil(code, { idempotencyKey: this.pending.key })
      this.pending = null
      this.setData({
        result: {
          rewardName: r.reward_name || voucher.rewardName,
          userName: '',
          code,
        },
        voucher: null,
        error: '',
        code: '',
      })
      wx.vibrateShort({ type: 'medium' })
    } catch (err) {
      if (serverDecided(err)) {
        // Refused (already fulfilled, expired, out of scope…): a new attempt needs a new lookup.
        this.pending = null
        this.setData({ error: errorMessage(err), voucher: null })
      } else {
        // The outcome is unknown: 确认发放 again replays with the same key.
        this.setData({ error: `${errorMessage(err)}（未确认是否已核销，请再次点击「确认发放」）` })
      }
    } finally {
      this.busy = false
      this.setData({ busy: false })
    }
  },
})
