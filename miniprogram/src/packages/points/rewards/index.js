// Rewards and redeem. A redemption retried after a network failure or a 5xx reuses its
// Idempotency-Key (kept in storage until the server answers), so it can never be charged twice.
const rewards = require('../../../services/rewards')
const redemptions = require('../../../services/redemptions')
const points = require('../../../services/points')
const { serverDecided } = require('../../../services/request')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { confirm, toastError } = require('../../../utils/ui')

const REDEMPTIONS_URL = '/packages/points/redemptions/index'

function showUnknownOutcome() {
  wx.showModal({
    title: '兑换结果未知',
    content: '网络或服务出了问题，可能已兑换成功。请到「我的兑换」查看后再试',
    confirmText: '去查看',
    cancelText: '知道了',
    success: (res) => {
      if (res && res.confirm) wx.navigateTo({ url: REDEMPTIONS_URL })
    },
  })
}

/** A replayed redemption whose voucher is still to be shown at the station (pending). */
const usableVoucher = (r) => Boolean(r && r.code && (!r.status || r.status === 'pending'))

/** The answer to a reused key is an earlier redemption already used, cancelled or expired:
 * no voucher to show; say so, and point to 我的兑换 for its state. */
function showEarlierOutcome(r, reward) {
  const name = (r && r.reward_name) || reward.name
  const state = (r && redemptions.STATUS_NAMES[r.status]) || '已处理'
  wx.showModal({
    title: `上次的兑换${state}`,
    content: `上次兑换「${name}」${state}，这次没有再扣分。详情请到「我的兑换」查看；再点兑换是一次新的兑换`,
    confirmText: '去查看',
    cancelText: '知道了',
    success: (res) => {
      if (res && res.confirm) wx.navigateTo({ url: REDEMPTIONS_URL })
    },
  })
}

Page({
  data: { items: [], balance: null, loading: true, error: '', redeemingId: null, voucher: null },

  onLoad() {
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
    if (!reward || this.data.redeemingId) return // a double tap: one question, one request
    this.setData({ redeemingId: id })
    try {
      const question = redemptions.hasPendingRedeem(id)
        ? `上次兑换「${reward.name}」结果未知：再点一次会先确认上次是否成功，不会重复扣分`
        : `使用 ${reward.cost} 积分兑换「${reward.name}」？`
      if (!(await confirm('确认兑换', question))) return
      // Kept in storage until the server answers: a retry (even after leaving the page or
      // restarting the app) replays the first attempt, never a second deduction.
      const pending = redemptions.redeemKey(id)
      try {
        const r = await redemptions.redeem(id, { idempotencyKey: pending.key })
        if (!pending.reused || usableVoucher(r)) {
          // A new redemption, or with a reused key the first attempt's (its answer was lost,
          // or it never reached the server and this is a fresh 201): either way the rider
          // needs its code at the station. `replayed`: say no second deduction was made.
          this.setData({
            voucher: {
              code: r.code,
              qr: r.qr_payload || r.code,
              name: r.reward_name || reward.name,
              expiresAt: formatTime(r.expires_at),
              replayed: pending.reused,
            },
            balance: r.balance !== undefined ? r.balance : this.data.balance,
          })
        } else {
          // The server replays the FIRST result of this key (maybe hours old, the
          // redemption since used, cancelled or expired): no voucher to show.
          this.setData({ balance: null })
          this.load()
          showEarlierOutcome(r, reward)
        }
        redemptions.settleRedeemKey(pending.slot) // answered: the next tap is a new redemption
      } catch (err) {
        if (serverDecided(err)) {
          redemptions.settleRedeemKey(pending.slot) // refused: a new tap is a new redemption
          toastError(err)
        } else {
          // Timeout, network failure or 5xx: it may have gone through. Show what the server
          // has now (the old balance hidden until then, it may be stale).
          this.setData({ balance: null })
          this.load()
          showUnknownOutcome()
        }
      }
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
