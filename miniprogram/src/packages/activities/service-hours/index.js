const serviceHours = require('../../../services/serviceHours')
const { formatTime } = require('../../../utils/format')
const { errorMessage, saveImage } = require('../../../utils/ui')
const { loadList } = require('../../../utils/list')

const toItem = (h) => ({ ...h, id: h.activity_id, time: formatTime(h.signed_in_at || h.starts_at) })

/** This year so far, as Shanghai dates: {from: 'YYYY-01-01', to: today}. */
function thisYear(now = Date.now()) {
  const today = new Date(now + 8 * 3600 * 1000).toISOString().slice(0, 10)
  return { from: `${today.slice(0, 4)}-01-01`, to: today }
}

Page({
  // totalHours/activityCount: the volunteer's totals from the answer (loadList's `total` is the row count)
  data: { totalHours: 0, activityCount: 0, items: [], loading: true, error: '', year: '', certificate: '', certificateCode: '', certLoading: false, certError: '' },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  /** The server pages the activities (20 a page): more come with onReachBottom. */
  onReachBottom() {
    if (this.data.hasMore) return this.fetch(false)
    return undefined
  },
  load() {
    return this.fetch(true)
  },
  async fetch(reset) {
    const res = await loadList(this, (page) => serviceHours.myServiceHours({ page }), { reset, map: toItem })
    // null: dropped (a newer load answered) or failed — keep the totals shown
    if (res) this.setData({ totalHours: res.total_hours || 0, activityCount: res.activity_count || 0 })
    return res
  },
  /** 开具今年的服务时长证明（PNG），显示核验码，可预览、保存。 */
  async onCertificate() {
    if (this.data.certLoading) return // a double tap: one certificate, one verification code
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
