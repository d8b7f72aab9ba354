const workOrders = require('../../../services/workOrders')
const uploads = require('../../../services/uploads')
const { NetworkError, newIdempotencyKey } = require('../../../services/request')
const { errorMessage, toast, toastError } = require('../../../utils/ui')

// Actions this page can do from the server's `allowed_actions` (dispatch/reassign/merge need a
// picker of staff or orders: done on the admin console for now).
const PAGE_ACTIONS = ['accept', 'start', 'resolve', 'return', 'hold', 'resume', 'reject', 'close']
const PRIMARY = ['accept', 'start', 'resolve', 'resume']
const HOLD_HOURS = 24

Page({
  data: { id: null, order: null, report: null, title: '', overdue: false, stateName: '', actions: [], note: '', photos: [], busy: false, formError: '', loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id })
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.order, error: '' })
    try {
      const o = await workOrders.getWorkOrder(this.data.id)
      const codes = (o.allowed_actions || []).filter((code) => PAGE_ACTIONS.includes(code))
      const r = o.report_detail || o.report || {}
      this.setData({
        order: o,
        report: r,
        title: (r.category && r.category.name) || `工单 #${o.id}`,
        overdue: workOrders.isOverdue(o),
        stateName: o.state_name || workOrders.STATE_NAMES[o.state] || o.state,
        actions: codes.map((code) => ({ code, name: workOrders.ACTION_NAMES[code] || code, primary: PRIMARY.includes(code) })),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  onNote(e) {
    this.setData({ note: e.detail.value, formError: '' })
  },
  onPhotosChange(e) {
    this.setData({ photos: e.detail.photos })
  },

  async onAction(e) {
    const { code } = e.currentTarget.dataset
    if (workOrders.NEEDS_NOTE.includes(code) && !this.data.note.trim()) {
      this.setData({ formError: code === 'resolve' ? '请填写处理结果' : '请填写原因说明' })
      return
    }
    if (workOrders.NEEDS_PHOTO.includes(code) && !this.data.photos.length) {
      this.setData({ formError: '办结请至少上传一张处理后的照片' })
      return
    }
    if (!this.pending || this.pending.code !== code) this.pending = { code, key: newIdempotencyKey() }
    this.setData({ busy: true, formError: '' })
    try {
      const photos = this.data.photos.slice()
      for (let i = 0; i < photos.length; i += 1) {
        if (!photos[i].uploadId) photos[i] = { ...photos[i], uploadId: (await uploads.uploadPhoto(photos[i].path)).id }
      }
      this.setData({ photos })
      const holdUntil = code === 'hold' ? new Date(Date.now() + HOLD_HOURS * 3600 * 1000).toISOString() : undefined
      await workOrders.transition(this.data.id, code, { note: this.data.note.trim(), photoIds: photos.map((p) => p.uploadId), holdUntil }, { idempotencyKey: this.pending.key })
      this.pending = null
      this.setData({ note: '', photos: [] })
      toast(`${workOrders.ACTION_NAMES[code] || '操作'}成功`)
      await this.load()
    } catch (err) {
      if (!(err instanceof NetworkError)) this.pending = null
      this.setData({ formError: errorMessage(err) })
      toastError(err)
    } finally {
      this.setData({ busy: false })
    }
  },

  onNavigate() {
    const r = this.data.report
    if (!r || r.lat === null || r.lat === undefined) return
    wx.openLocation({ latitude: r.lat, longitude: r.lng, name: this.data.title || '工单位置', address: r.address || '', scale: 17 })
  },

  onRetry() {
    return this.load()
  },
})
