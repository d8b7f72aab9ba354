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
