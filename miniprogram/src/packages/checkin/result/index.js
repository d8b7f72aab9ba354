const handoff = require('../../../utils/handoff')
const { serviceNames } = require('../../../services/stations')

Page({
  data: { result: null, station: null, services: [], closed: false, note: '' },

  onLoad() {
    const result = handoff.take('checkin')
    if (!result) return
    const station = result.station || {}
    // A check-in at a closed station is recorded but earns nothing (and does not use up the
    // day's reward: the rider may come back when it is open); the server's message says so.
    const closed = Boolean(result.checkin && result.checkin.status === 'closed')
    const note = result.message || (closed ? `打卡已记录；${station.name || '驿站'}现在不在营业时间，本次不计积分` : '打卡成功')
    wx.setNavigationBarTitle({ title: closed ? '打卡已记录' : '打卡成功' })
    this.setData({ result, station, services: serviceNames(station), closed, note })
  },

  onPoints() {
    wx.switchTab({ url: '/pages/points/index' })
  },

  onHome() {
    wx.switchTab({ url: '/pages/home/index' })
  },
})
