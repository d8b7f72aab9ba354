// Rewards and redeem. A redemption retried after a network failure or a 5xx reuses its
// Idempotency-Key, so it can never be charged twice.
const rewards = require('../../../services/rewards')
const redemptions = require('../../../services/redemptions')
const points = require('../../../services/points')
const { newIdempotencyKey, serverDecided } = require('../../../services/request')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { confirm, toastError } = require('../../../utils/ui')

Page({
  data: { items: [], balance: null, loading: true, error: '', redeemingId: null, voucher: null },

  onLoad() {
    this.pendingKeys = {}
    prefetch()
    return this.load()
  },

  onPullDownRefresh() {
    return this.load()
  },

  async load() {
    points
      .myPoints()
      .then((s) => this.setData({ balance: s.balance }))
      .catch(() => {})
    return loadList(this, (page) => rewards.listRewards({ page }))
  },

  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => rewards.listRewards({ page }), { reset: false })
    return undefined
  },

  async onRedeem(e) {
    const { id } = e.currentTarget.dataset
    const reward = this.data.items.find((r) => r.id === id)
    if (!reward || this.data.redeemingId) return
    const ok = await confirm('确认兑换', `使用 ${reward.cost} 积分兑换「${reward.name}」？`)
    if (!ok) return
    this.pendingKeys[id] = this.pendingKeys[id] || newIdempotencyKey()
    this.setData({ redeemingId: id })
    try {
      const r = await redemptions.redeem(id, { idempotencyKey: this.pendingKeys[id] })
      delete this.pendingKeys[id]
      this.setData({
        voucher: { code: r.code, qr: r.qr_payload || r.code, name: r.reward_name || reward.name, expiresAt: formatTime(r.expires_at) },
        balance: r.balance !== undefined ? r.balance : this.data.balance,
      })
    } catch (err) {
      if (serverDecided(err)) delete this.pendingKeys[id] // refused: a new tap is a new redemption
      toastError(err)
    } finally {
      this.setData({ redeemingId: null })
    }
  },

  onSubscribe() {
    return askSubscribe('redemption')
  },

  onCloseVoucher() {
    this.setData({ voucher: null })
    return this.load()
  },

  onRetry() {
    return this.load()
  },
})
