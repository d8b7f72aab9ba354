const handoff = require('../../../utils/handoff')
const { serviceNames } = require('../../../services/stations')

Page({
  data: { result: null, station: null, services: [] },

  onLoad() {
    const result = handoff.take('checkin')
    if (!result) return
    const station = result.station || {}
    this.setData({ result, station, services: serviceNames(station) })
  },

  onPoints() {
    wx.switchTab({ url: '/pages/points/index' })
  },

  onHome() {
    wx.switchTab({ url: '/pages/home/index' })
  },
})
