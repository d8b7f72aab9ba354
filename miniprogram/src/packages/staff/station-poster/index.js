// One station's printable poster (PNG downloaded with the staff token), preview/save to print,
// and 换码 (rotate the QR secret: every printed code stops working) for community admins and up.
const stations = require('../../../services/stations')
const me = require('../../../services/me')
const { getCachedUser, serverDecided } = require('../../../services/request')
const { formatTime } = require('../../../utils/format')
const { errorMessage, toastError, confirm, saveImage } = require('../../../utils/ui')
const { latest } = require('../../../utils/list')

const ROTATE_WARNING = '换码后，之前打印张贴的码牌全部失效，骑手扫旧码将无法打卡，需重新打印张贴。确定换码吗？'

Page({
  data: { id: null, station: null, inactive: false, rotatedAt: '', poster: '', posterLoading: false, posterError: '', notice: '', canRotate: false, rotating: false, loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id, canRotate: me.isManager(getCachedUser()) })
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.station, error: '' })
    try {
      const station = await stations.getAdminStation(this.data.id)
      this.setData({ station, inactive: station.is_active === false, rotatedAt: formatTime(station.qr_rotated_at), loading: false })
      wx.setNavigationBarTitle({ title: station.name || '驿站码牌' })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
      return
    }
    await this.loadPoster()
  },

  async loadPoster() {
    // Only the latest download may be shown: one begun before 换码 (slow on a weak network) that
    // answers last carries the old, dead code and must not be offered for saving or printing.
    const isLatest = latest(this, 'poster')
    // A deactivated station's code does not check anyone in: offer no poster to save or print.
    if (this.data.inactive) {
      this.setData({ poster: '', posterLoading: false, posterError: '' })
      return
    }
    this.setData({ posterLoading: true, posterError: '' })
    try {
      const { tempFilePath } = await stations.downloadPoster(this.data.id)
      if (!isLatest()) return
      this.setData({ poster: tempFilePath, posterLoading: false })
    } catch (err) {
      if (!isLatest()) return
      this.setData({ posterLoading: false, posterError: errorMessage(err) })
    }
  },

  /** Full-screen preview: long-press there to send to a computer or a printer. */
  onPreview() {
    if (!this.data.poster || this.data.inactive) return
    wx.previewImage({ urls: [this.data.poster], current: this.data.poster })
  },
  onSave() {
    if (!this.data.poster || this.data.inactive) return undefined
    return saveImage(this.data.poster)
  },

  async onRotate() {
    // One rotation at a time from the tap on (the confirm dialog included): a double tap must not
    // rotate twice and kill the code the first rotation just produced.
    if (this.acting) return
    this.acting = true
    try {
      if (!(await confirm('换码', ROTATE_WARNING))) return
      await this.rotate()
    } finally {
      this.acting = false
    }
  },

  async rotate() {
    this.setData({ rotating: true, notice: '' })
    const before = this.data.station && this.data.station.qr_rotated_at
    try {
      const station = await stations.rotateQr(this.data.id)
      this.setData({ station, inactive: station.is_active === false, rotatedAt: formatTime(station.qr_rotated_at), poster: '' })
      // icon 'none': a success toast shows at most 7 汉字 and would cut this one
      wx.showToast({ title: '已换码，请重新打印', icon: 'none' })
      await this.loadPoster()
    } catch (err) {
      if (serverDecided(err)) {
        toastError(err)
        return
      }
      // The answer was lost (network, 5xx): the rotation may have been committed, so the code on
      // screen may be dead. Drop it and reload the station and its current poster from the server.
      this.setData({ poster: '' })
      await this.load()
      if (this.data.error) {
        this.setData({ notice: '换码结果未知，当前码牌可能已失效，请重新加载后再保存或打印' })
        return
      }
      const after = this.data.station && this.data.station.qr_rotated_at
      let notice = after && after !== before
        ? '换码已生效，旧码牌已失效，请保存并重新打印下方新码牌'
        : '换码未完成，下方为当前有效的码牌，可稍后重试换码'
      // saved, but not every server has heard of it yet: the old code may work a few minutes
      if (err && err.code === 'cache.not_announced') notice = err.message
      this.setData({ notice })
    } finally {
      this.setData({ rotating: false })
    }
  },

  onRetry() {
    return this.load()
  },
  onRetryPoster() {
    return this.loadPoster()
  },
})
