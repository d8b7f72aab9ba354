const points = require('../../services/points')
const { formatTime } = require('../../utils/format')
const { errorMessage, toastError } = require('../../utils/ui')

const toEntry = (e) => ({
  id: e.id,
  reason: e.reason || '积分变动',
  delta: e.delta > 0 ? `+${e.delta}` : `${e.delta}`,
  positive: e.delta > 0,
  time: formatTime(e.created_at),
})

Page({
  data: { summary: null, entries: [], page: 1, total: 0, hasMore: false, loadingMore: false, loading: true, error: '' },

  onShow() {
    return this.load()
  },

  onPullDownRefresh() {
    return this.load()
  },

  onReachBottom() {
    return this.loadMore()
  },

  /** The summary and the ledger's first page; any page still loading is dropped. */
  async load() {
    this.seq = (this.seq || 0) + 1
    const seq = this.seq
    this.refreshing = true
    this.setData({ loading: !this.data.summary, error: '' })
    try {
      const s = await points.myPoints({ page: 1 })
      if (seq !== this.seq) return
      const ledger = s.ledger || {}
      const entries = (ledger.items || []).map(toEntry)
      this.setData({
        summary: s,
        entries,
        page: 1,
        total: ledger.total || entries.length,
        hasMore: Boolean(ledger.total && entries.length < ledger.total),
        loadingMore: false,
        loading: false,
      })
    } catch (err) {
      if (seq === this.seq) this.setData({ loading: false, loadingMore: false, error: errorMessage(err) })
    } finally {
      if (seq === this.seq) {
        this.refreshing = false
        wx.stopPullDownRefresh()
      }
    }
  },

  /** The ledger's next page (GET /me/points?page=n), appended; one at a time, none while page 1 reloads. */
  async loadMore() {
    if (this.refreshing || !this.data.hasMore || this.data.loadingMore) return
    const seq = this.seq
    const next = this.data.page + 1
    this.setData({ loadingMore: true })
    try {
      const s = await points.myPoints({ page: next })
      if (seq !== this.seq) return // refreshed meanwhile: page 1 is shown again
      const ledger = s.ledger || {}
      const items = ledger.items || []
      // New entries shift the pages: skip any line already shown.
      const shown = new Set(this.data.entries.map((e) => e.id))
      const entries = this.data.entries.concat(items.filter((e) => !shown.has(e.id)).map(toEntry))
      const total = ledger.total || entries.length
      this.setData({ entries, page: next, total, hasMore: items.length > 0 && entries.length < total, loadingMore: false })
    } catch (err) {
      if (seq !== this.seq) return
      this.setData({ loadingMore: false })
      toastError(err)
    }
  },

  onRedeem() {
    wx.navigateTo({ url: '/packages/points/rewards/index' })
  },
  onRedemptions() {
    wx.navigateTo({ url: '/packages/points/redemptions/index' })
  },
  onRanking() {
    wx.navigateTo({ url: '/packages/points/ranking/index' })
  },
  onServiceHours() {
    wx.navigateTo({ url: '/packages/activities/service-hours/index' })
  },
  onRetry() {
    return this.load()
  },
})
