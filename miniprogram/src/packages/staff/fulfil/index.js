// Staff fulfil a redemption: scan the voucher QR (it encodes the code) or type the code.
const redemptions = require('../../../services/redemptions')
const { NetworkError, newIdempotencyKey } = require('../../../services/request')
const { scanCode } = require('../../../utils/scene')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: { code: '', busy: false, result: null, error: '' },

  onInput(e) {
    this.setData({ code: redemptions.voucherCode(e.detail.value), error: '' })
  },

  async onScan() {
    let res
    try {
      res = await scanCode()
    } catch {
      return
    }
    this.setData({ code: redemptions.voucherCode(res.result) })
    await this.onFulfil()
  },

  async onFulfil() {
    const code = this.data.code
    if (!code) {
      this.setData({ error: '请扫描或输入兑换码' })
      return
    }
    if (!this.pending || this.pending.code !== code) this.pending = { code, key: newIdempotencyKey() }
    this.setData({ busy: true, error: '', result: null })
    try {
      const r = await redemptions.fulfil(code, { idempotencyKey: this.pending.key })
      this.pending = null
      this.setData({
        result: {
          rewardName: r.reward_name || '奖品',
          userName: '',
          code,
        },
        code: '',
      })
      wx.vibrateShort({ type: 'medium' })
    } catch (err) {
      if (!(err instanceof NetworkError)) this.pending = null
      this.setData({ error: errorMessage(err) })
    } finally {
      this.setData({ busy: false })
    }
  },
})
