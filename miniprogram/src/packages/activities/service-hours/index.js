const serviceHours = require('../../../services/serviceHours')
const { formatTime } = require('../../../utils/format')
const { errorMessage, saveImage } = require('../../../utils/ui')

/** This year so far, as Shanghai dates: {from: 'YYYY-01-01', to: today}. */
function thisYear(now = Date.now()) {
  const today = new Date(now + 8 * 3600 * 1000).toISOString().slice(0, 10)
  return { from: `${today.slice(0, 4)}-01-01`, to: today }
}

Page({
  data: { total: 0, items: [], loading: true, error: '', year: '', certificate: '', certificateCode: '', certLoading: false, certError: '' },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  async load() {
    this.setData({ loading: true, error: '' })
    try {
      const res = await serviceHours.myServiceHours()
      this.setData({
        total: res.total_hours || 0,
        activityCount: res.activity_count || 0,
        items: (res.items || []).map((h) => ({ ...h, id: h.activity_id, time: formatTime(h.signed_in_at || h.starts_at) })),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      wx.stopPullDownRefresh()
    }
  },
  /** 开具今年的服务时长证明（PNG），显示核验码，可预览、保存。 */
  async onCertificate() {
    const period = thisYear()
    this.setData({ certLoading: true, certError: '', year: period.from.slice(0, 4) })
    try {
      const { tempFilePath, code } = await serviceHours.downloadCertificate(period)
      this.setData({ certificate: tempFilePath, certificateCode: code, certLoading: false })
    } catch (err) {
      this.setData({ certLoading: false, certError: errorMessage(err) })
    }
  },
  onPreviewCertificate() {
    if (!this.data.certificate) return
    wx.previewImage({ urls: [this.data.certificate], current: this.data.certificate })
  },
  onSaveCertificate() {
    if (!this.data.certificate) return undefined
    return saveImage(this.data.certificate)
  },
  onRetry() {
    return this.load()
  },
})
