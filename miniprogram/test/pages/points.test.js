const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const pointsId = load('pages/points/index')

beforeEach(() => loggedIn())

test('renders balance, month, lifetime and the ledger; 去兑换 opens rewards', async () => {
  mockServer({
    'GET /me/points': () => ({
      balance: 109,
      earned_this_month: 35,
      lifetime_earned: 240,
      ledger: {
        items: [
          { id: 1, delta: 5, balance_after: 169, reason: '驿站打卡', source_type: 'checkin', source_id: '3', rule: 'checkin', created_at: '2024-05-01T12:00:00+08:00' },
          { id: 2, delta: -60, balance_after: 109, reason: '兑换蓝牙耳机', source_type: 'redemption', source_id: '4', rule: null, created_at: '2024-05-02T12:00:00+08:00' },
        ],
        total: 2,
        page: 1,
        page_size: 20,
      },
    }),
  })
  const page = render(pointsId)
  await page.instance.onShow()
  await flush()
  const t = pageText(page)
  expect(t).toContain('109')
  expect(t).toContain('35')
  expect(t).toContain('240')
  expect(t).toContain('驿站打卡')
  expect(t).toContain('+5')
  expect(t).toContain('-60')
  expect(t).toContain('2024-05-01 12:00') // shown in Asia/Shanghai
  page.querySelector('.summary >>> .redeem').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/points/rewards/index' })
})

test('shortcuts open ranking and redemptions', async () => {
  mockServer({ 'GET /me/points': () => ({ balance: 0, earned_this_month: 0, lifetime_earned: 0 }) })
  const page = render(pointsId)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('还没有积分记录')
  page.querySelector('.ranking').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/points/ranking/index' })
})

test('network failure: error state with retry, pull-down stopped', async () => {
  let online = false
  mockServer({ 'GET /me/points': () => (online ? { balance: 7 } : 'network') })
  const page = render(pointsId)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
  expect(wx.stopPullDownRefresh).toHaveBeenCalled()
  online = true
  await page.instance.onRetry()
  await flush()
  expect(pageText(page)).toContain('7')
  expect(pageText(page)).not.toContain('网络不稳定')
})
