// My redemptions: show the voucher, cancel a pending one. A cancel retried after a network
// failure or a 5xx reuses its Idempotency-Key, so the server replays the first answer.
const redemptions = require('../../../services/redemptions')
const { newIdempotencyKey, serverDecided } = require('../../../services/request')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { confirm, toast, toastError } = require('../../../utils/ui')

const toItem = (r) => ({
  ...r,
  rewardName: r.reward_name || '奖品',
  statusName: redemptions.STATUS_NAMES[r.status] || r.status,
  time: formatTime(r.created_at),
})

Page({
  data: { items: [], loading: true, error: '', voucher: null, cancellingId: null },

  onLoad() {
    this.cancelKeys = {}
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => redemptions.myRedemptions({ page }), { reset: false, map: toItem })
    return undefined
  },
  load() {
    return loadList(this, (page) => redemptions.myRedemptions({ page }), { map: toItem })
  },

  onShowVoucher(e) {
    const item = this.data.items.find((r) => r.id === e.currentTarget.dataset.id)
    if (item && item.status === 'pending') this.setData({ voucher: { code: item.code, qr: item.qr_payload || item.code, name: item.rewardName } })
  },

  onCloseVoucher() {
    this.setData({ voucher: null })
  },

  async onCancel(e) {
    const { id } = e.currentTarget.dataset
    if (this.data.cancellingId) return // a double tap: one question, one request
    this.setData({ cancellingId: id })
    try {
      if (!(await confirm('取消兑换', '取消后积分将退回，确定吗？'))) return
      this.cancelKeys = this.cancelKeys || {}
      this.cancelKeys[id] = this.cancelKeys[id] || newIdempotencyKey()
      try {
        await redemptions.cancel(id, { idempotencyKey: this.cancelKeys[id] })
        delete this.cancelKeys[id]
        toast('已取消，积分已退回')
        await this.load()
      } catch (err) {
        toastError(err)
        if (serverDecided(err)) {
          // Refused (already cancelled, expired or fulfilled): a new tap is a new attempt,
          // and the list is reloaded so the item shows its state now.
          delete this.cancelKeys[id]
          await this.load()
        }
      }
    } finally {
      this.setData({ cancellingId: null })
    }
  },

  onRetry() {
    return this.load()
  },
})
