const rankings = require('../../../services/rankings')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: {
    scopes: [
      { code: 'community', name: '本社区' },
      { code: 'street', name: '本街道' },
    ],
    periods: [
      { code: 'month', name: '本月' },
      { code: 'all', name: '总榜' },
    ],
    scope: 'community',
    period: 'month',
    items: [],
    me: null,
    loading: true,
    error: '',
  },

  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },

  async load() {
    // Only the latest request (the chips now selected) may update the board.
    this.seq = (this.seq || 0) + 1
    const seq = this.seq
    this.setData({ loading: true, error: '' })
    try {
      const res = await rankings.getRanking({ scope: this.data.scope, period: this.data.period, top: 15 })
      if (seq !== this.seq) return
      this.setData({ items: res.items || [], me: res.me || null, loading: false })
    } catch (err) {
      if (seq === this.seq) this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      if (seq === this.seq) wx.stopPullDownRefresh()
    }
  },

  onScope(e) {
    this.setData({ scope: e.currentTarget.dataset.code })
    return this.load()
  },
  onPeriod(e) {
    this.setData({ period: e.currentTarget.dataset.code })
    return this.load()
  },
  onRetry() {
    return this.load()
  },
})
