const handoff = require('../../../utils/handoff')
const { serviceName } = require('../../../services/stations')

Page({
  data: { result: null, station: null, services: [] },

  onLoad() {
    const result = handoff.take('checkin')
    if (!result) return
    const station = result.station || {}
    this.setData({ result, station, services: (station.services || []).map(serviceName) })
  },

  onPoints() {
    wx.switchTab({ url: '/pages/points/index' })
  },

  onHome() {
    wx.switchTab({ url: '/pages/home/index' })
  },
})
