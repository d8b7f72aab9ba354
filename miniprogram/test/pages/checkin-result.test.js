const { load, render, flush, pageText, loggedIn } = require('../helpers')
const handoff = require('../../src/utils/handoff')

const resultId = load('packages/checkin/result/index')

const OK = {
  points_awarded: 5,
  balance: 109,
  station: { id: 11, name: '经三路小哥驿站', services: ['rest', 'charging'] },
}

beforeEach(() => loggedIn())

test('result page shows points awarded, balance and station services', async () => {
  handoff.put('checkin', OK)
  const page = render(resultId)
  await page.instance.onLoad({})
  await flush()
  const t = pageText(page)
  expect(t).toContain('+5 积分')
  expect(t).toContain('109')
  expect(t).toContain('经三路小哥驿站')
  expect(t).toContain('手机充电')
  page.querySelector('.btn-primary').dispatchEvent('tap')
  await flush()
  expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/points/index' })
})

test('result page without a result shows an empty state, not a blank screen', async () => {
  const page = render(resultId)
  await page.instance.onLoad({})
  await flush()
  expect(pageText(page)).toContain('没有找到打卡结果')
})

test('closed station: the server message, no "already checked in", and a title without success', async () => {
  // server/stations/checkins.py _result() for a station outside its opening hours
  handoff.put('checkin', {
    checkin: { id: 9, station_id: 11, station_name: '经三路小哥驿站', status: 'closed', reason: null, points_awarded: 0 },
    points_awarded: 0,
    balance: 40,
    station: { id: 11, name: '经三路小哥驿站', services: ['rest'], is_open_now: false },
    message: '打卡已记录；经三路小哥驿站现在不在营业时间，本次不计积分',
    replayed: false,
  })
  const page = render(resultId)
  await page.instance.onLoad({})
  await flush()
  const t = pageText(page)
  expect(t).toContain('打卡已记录；经三路小哥驿站现在不在营业时间，本次不计积分')
  expect(t).not.toContain('今日已在此打卡')
  expect(t).not.toContain('+0')
  expect(t).toContain('40')
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '打卡已记录' })
})

test('an ok check-in with 0 points shows the server message, not "already checked in"', async () => {
  handoff.put('checkin', {
    checkin: { id: 10, status: 'ok', points_awarded: 0 },
    points_awarded: 0,
    balance: 40,
    station: { id: 11, name: '经三路小哥驿站', services: [] },
    message: '打卡成功',
  })
  const page = render(resultId)
  await page.instance.onLoad({})
  await flush()
  const t = pageText(page)
  expect(t).toContain('打卡成功')
  expect(t).not.toContain('今日已在此打卡')
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '打卡成功' })
})
