const { ApiError } = require('../services/request')

/** GCJ-02 location as a Promise; a refusal becomes an ApiError with a Chinese message. */
function getLocation() {
  return new Promise((resolve, reject) => {
    wx.getLocation({
      type: 'gcj02',
      isHighAccuracy: true,
      success: (res) => resolve({ lat: res.latitude, lng: res.longitude, accuracy: res.accuracy }),
      fail: () =>
        reject(new ApiError({ code: 'client.location_denied', message: '无法获取位置，请在设置中允许蜂巢使用位置信息' })),
    })
  })
}

function chooseLocation(current) {
  return new Promise((resolve, reject) => {
    wx.chooseLocation({
      ...(current && current.lat ? { latitude: current.lat, longitude: current.lng } : {}),
      success: (res) => resolve({ lat: res.latitude, lng: res.longitude, address: res.address || res.name || '' }),
      fail: reject,
    })
  })
}

module.exports = { getLocation, chooseLocation }
