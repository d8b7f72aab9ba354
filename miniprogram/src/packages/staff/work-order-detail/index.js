const workOrders = require('../../../services/workOrders')
const uploads = require('../../../services/uploads')
const { NetworkError, newIdempotencyKey } = require('../../../services/request')
const { errorMessage, toast, toastError } = require('../../../utils/ui')

// Used when the server does not send `available_actions`.
const ACTIONS_BY_STATE = {
  dispatched: ['accept', 'return'],
  accepted: ['start', 'hold', 'return'],
  in_progress: ['resolve', 'hold'],
  on_hold: ['resume'],
}
const NEEDS_NOTE = ['resolve', 'return', 'hold']

Page({
  data: { id: null, order: null, stateName: '', actions: [], note: '', photos: [], busy: false, formError: '', loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id })
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.order, error: '' })
    try {
      const o = await workOrders.getWorkOrder(this.data.id)
      const codes = o.available_actions || ACTIONS_BY_STATE[o.state] || []
      this.setData({
        order: o,
        stateName: workOrders.STATE_NAMES[o.state] || o.state,
        actions: codes.map((code) => ({ code, name: workOrders.ACTION_NAMES[code] || code, primary: code === 'accept' || code === 'resolve' || code === 'start' })),
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
    if (NEEDS_NOTE.includes(code) && !this.data.note.trim()) {
      this.setData({ formError: '请填写处理说明' })
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
      await workOrders.transition(this.data.id, { action: code, note: this.data.note.trim(), photoIds: photos.map((p) => p.uploadId) }, { idempotencyKey: this.pending.key })
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
    const o = this.data.order
    wx.openLocation({ latitude: o.lat, longitude: o.lng, name: o.title || '工单位置', address: o.address || '', scale: 17 })
  },

  onRetry() {
    return this.load()
  },
})
