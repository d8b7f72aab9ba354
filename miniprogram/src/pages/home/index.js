const stations = require('../../services/stations')
const { getLocation, openLocationSetting } = require('../../utils/location')
const { errorMessage } = require('../../utils/ui')

// A rider rides on between looks at the list: back on the page after this long, the
// position (and every distance shown) is stale and is asked again.
const LOCATION_STALE_MS = 2 * 60 * 1000

Page({
  data: {
    services: stations.SERVICES,
    service: '',
    openNow: false,
    showMap: false,
    location: null,
    stations: [],
    markers: [],
    loading: true,
    error: '',
    retryText: '重试',
    denied: false,
  },

  onLoad() {
    return this.refresh()
  },

  onShow() {
    // The first show follows onLoad's own search; later ones (back from a station, from
    // another app, from another tab) look again when the position is stale. Quietly: the
    // list stays while it runs, and a failure keeps it (with a toast) rather than an error.
    if (!this.locatedAt || this.data.loading) return undefined
    if (Date.now() - this.locatedAt < LOCATION_STALE_MS) return undefined
    return this.refresh({ relocate: true, quiet: true })
  },

  onPullDownRefresh() {
    return this.refresh({ relocate: true })
  },

  async refresh({ relocate = false, quiet = false } = {}) {
    // Filters tapped in quick succession overlap on a weak network: only the latest search's
    // answer (or error) may update the page, whatever order the answers arrive in.
    this.seq = (this.seq || 0) + 1
    const seq = this.seq
    this.setData({ loading: !this.data.stations.length, error: '' })
    try {
      let location = this.data.location
      if (!location || relocate) {
        location = await getLocation()
        if (seq !== this.seq) return
        this.locatedAt = Date.now()
        this.setData({ location })
      }
      const res = await stations.nearby({
        lat: location.lat,
        lng: location.lng,
        service: this.data.service || undefined,
        openNow: this.data.openNow,
      })
      if (seq !== this.seq) return
      const list = (res && res.items) || []
      this.setData({
        stations: list,
        markers: list.map((s, i) => ({
          id: i,
          latitude: s.lat,
          longitude: s.lng,
          title: s.name,
          width: 32,
          height: 32,
          callout: { content: s.name, display: 'BYCLICK', padding: 8, borderRadius: 8 },
        })),
        loading: false,
      })
    } catch (err) {
      if (seq !== this.seq) return
      if (quiet && this.data.stations.length) {
        // the list on screen is still of use; it says where it was found, not here
        this.setData({ loading: false })
        wx.showToast({ title: '位置未更新，显示的是之前的附近驿站', icon: 'none' })
        return
      }
      // A refused permission is not asked again by WeChat: the retry opens the settings.
      const denied = err && err.code === 'client.location_denied'
      this.setData({ loading: false, error: errorMessage(err), retryText: denied ? '去设置开启定位' : '重试', denied })
    } finally {
      if (seq === this.seq) wx.stopPullDownRefresh()
    }
  },

  onServiceTap(e) {
    const { code } = e.currentTarget.dataset
    this.setData({ service: this.data.service === code ? '' : code })
    return this.refresh()
  },

  onOpenNowChange(e) {
    this.setData({ openNow: Boolean(e.detail) })
    return this.refresh()
  },

  onToggleMap() {
    this.setData({ showMap: !this.data.showMap })
  },

  onSelectStation(e) {
    this.openStation(this.data.stations.find((s) => s.id === e.detail.id) || { id: e.detail.id })
  },

  onMarkerTap(e) {
    const station = this.data.stations[e.detail.markerId]
    if (station) this.openStation(station)
  },

  /** The detail page, told how far the station is (the list knows; the detail API does not). */
  openStation(station) {
    const far = Number.isFinite(station.distance_m) ? `&distance_m=${station.distance_m}` : ''
    wx.navigateTo({ url: `/packages/station/detail/index?id=${station.id}${far}` })
  },

  onScan() {
    wx.navigateTo({ url: '/packages/checkin/scan/index?start=1' })
  },

  async onRetry() {
    if (this.data.denied && (await openLocationSetting()) === false) return undefined
    return this.refresh({ relocate: true })
  },
})
