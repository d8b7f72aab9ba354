// One station's printable poster (PNG downloaded with the staff token), preview/save to print,
// and 换码 (rotate the QR secret: every printed code stops working) for community admins and up.
const stations = require('../../../services/stations')
const me = require('../../../services/me')
const { getCachedUser } = require('../../../services/request')
const { formatTime } = require('../../../utils/format')
const { errorMessage, toast, toastError, confirm, saveImage } = require('../../../utils/ui')

const ROTATE_WARNING = '换码后，之前打印张贴的码牌全部失效，骑手扫旧码将无法打卡，需重新打印张贴。确定换码吗？'

Page({
  data: { id: null, station: null, rotatedAt: '', poster: '', posterLoading: false, posterError: '', canRotate: false, rotating: false, loading: true, error: '' },

  onLoad(options) {
    this.setData({ id: options.id, canRotate: me.isManager(getCachedUser()) })
    return this.load()
  },

  async load() {
    this.setData({ loading: !this.data.station, error: '' })
    try {
      const station = await stations.getAdminStation(this.data.id)
      this.setData({ station, rotatedAt: formatTime(station.qr_rotated_at), loading: false })
      wx.setNavigationBarTitle({ title: station.name || '驿站码牌' })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
      return
    }
    await this.loadPoster()
  },

  async loadPoster() {
    this.setData({ posterLoading: true, posterError: '' })
    try {
      const { tempFilePath } = await stations.downloadPoster(this.data.id)
      this.setData({ poster: tempFilePath, posterLoading: false })
    } catch (err) {
      this.setData({ posterLoading: false, posterError: errorMessage(err) })
    }
  },

  /** Full-screen preview: long-press there to send to a computer or a printer. */
  onPreview() {
    if (!this.data.poster) return
    wx.previewImage({ urls: [this.data.poster], current: this.data.poster })
  },
  onSave() {
    if (!this.data.poster) return undefined
    return saveImage(this.data.poster)
  },

  async onRotate() {
    if (!(await confirm('换码', ROTATE_WARNING))) return
    this.setData({ rotating: true })
    try {
      const station = await stations.rotateQr(this.data.id)
      this.setData({ station, rotatedAt: formatTime(station.qr_rotated_at), poster: '' })
      toast('已换码，请重新打印')
      await this.loadPoster()
    } catch (err) {
      toastError(err)
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
