const stations = require('../../../services/stations')
const { formatDistance } = require('../../../utils/format')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: { id: null, station: null, services: [], hours: '', distance: '', loading: true, error: '' },

  onLoad(options) {
    // the distance from the list the rider tapped (GET /stations/{id} has none)
    const far = Number(options.distance_m)
    this.distanceM = options.distance_m !== undefined && Number.isFinite(far) ? far : undefined
    this.setData({ id: options.id })
    return this.load()
  },

  async load() {
    this.setData({ loading: true, error: '' })
    try {
      const s = await stations.getStation(this.data.id)
      wx.setNavigationBarTitle({ title: s.name })
      this.setData({
        station: s,
        services: stations.serviceNames(s).map((name, i) => ({ code: (s.services || [])[i] || name, name })),
        hours: stations.hoursText(s.opening_hours),
        kind: s.kind_name || stations.kindName(s.kind),
        distance: formatDistance(s.distance_m !== undefined ? s.distance_m : this.distanceM),
        loading: false,
      })
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  onNavigate() {
    const s = this.data.station
    wx.openLocation({ latitude: s.lat, longitude: s.lng, name: s.name, address: s.address || '', scale: 16 })
  },

  onCall() {
    wx.makePhoneCall({ phoneNumber: this.data.station.contact_phone })
  },

  onScan() {
    wx.navigateTo({ url: '/packages/checkin/scan/index?start=1' })
  },

  onRetry() {
    return this.load()
  },
})
