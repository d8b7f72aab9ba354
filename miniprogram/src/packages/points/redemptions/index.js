const redemptions = require('../../../services/redemptions')
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
  data: { items: [], loading: true, error: '', voucher: null },

  onLoad() {
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
    if (!(await confirm('取消兑换', '取消后积分将退回，确定吗？'))) return
    try {
      await redemptions.cancel(id)
      toast('已取消，积分已退回')
      await this.load()
    } catch (err) {
      toastError(err)
    }
  },

  onRetry() {
    return this.load()
  },
})
