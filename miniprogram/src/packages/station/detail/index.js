const stations = require('../../../services/stations')
const { formatDistance } = require('../../../utils/format')
const { errorMessage } = require('../../../utils/ui')

function hoursText(hours) {
  if (!hours) return '未提供'
  if (typeof hours === 'string') return hours
  if (Array.isArray(hours)) return hours.map((h) => (typeof h === 'string' ? h : `${h.days || ''} ${h.open || ''}-${h.close || ''}`.trim())).join('；')
  return hours.text || ''
}

Page({
  data: { id: null, station: null, services: [], hours: '', distance: '', loading: true, error: '' },

  onLoad(options) {
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
        services: (s.services || []).map((code) => ({ code, name: stations.serviceName(code) })),
        hours: s.opening_hours_text || hoursText(s.opening_hours),
        kind: stations.kindName(s.kind),
        distance: formatDistance(s.distance_m),
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
    wx.makePhoneCall({ phoneNumber: this.data.station.phone })
  },

  onScan() {
    wx.navigateTo({ url: '/packages/checkin/scan/index?start=1' })
  },

  onRetry() {
    return this.load()
  },
})
