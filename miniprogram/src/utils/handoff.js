// Hands a result from one page to the next (e.g. check-in → result page) without globalData.
const box = {}

function put(key, value) {
  box[key] = value
}

function take(key) {
  const value = box[key]
  delete box[key]
  return value
}

module.exports = { put, take }
