const reports = require('../../../services/reports')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { formatTime } = require('../../../utils/format')
const { errorMessage, toast, toastError } = require('../../../utils/ui')

Page({
  data: {
    id: null,
    report: null,
    statusName: '',
    time: '',
    canRate: false,
    rating: 5,
    fixed: true,
    comment: '',
    sending: false,
    loading: true,
    error: '',
  },

  onLoad(options) {
    this.setData({ id: options.id })
    prefetch()
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.report, error: '' })
    try {
      const r = await reports.getReport(this.data.id)
      this.setData({
        report: r,
        statusName: reports.statusName(r),
        categoryName: reports.categoryName(r) || '问题上报',
        time: formatTime(r.created_at),
        canRate: Boolean(r.can_give_feedback),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  onRate(e) {
    this.setData({ rating: e.detail })
  },
  onFixedChange(e) {
    this.setData({ fixed: Boolean(e.detail) })
  },
  onComment(e) {
    this.setData({ comment: e.detail.value })
  },

  async onSendFeedback() {
    this.setData({ sending: true })
    try {
      await reports.sendFeedback(this.data.id, { stars: this.data.rating, comment: this.data.comment, fixed: this.data.fixed })
      toast('感谢您的评价')
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ sending: false })
    }
  },

  onPreview(e) {
    const urls = (this.data.report.photos || []).map((p) => p.url)
    wx.previewImage({ urls, current: e.currentTarget.dataset.url })
  },

  onSubscribe() {
    return askSubscribe('report')
  },

  onRetry() {
    return this.load()
  },
})
