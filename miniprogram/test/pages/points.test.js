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

describe('ledger paging', () => {
  // 45 entries, newest first; the server pages them 20 at a time
  const TOTAL = 45
  const ledgerPage = (page) => {
    const start = (page - 1) * 20
    const items = Array.from({ length: Math.max(0, Math.min(20, TOTAL - start)) }, (_, i) => ({
      id: TOTAL - start - i,
      delta: 5,
      reason: `驿站打卡 ${TOTAL - start - i}`,
      created_at: '2024-05-01T12:00:00+08:00',
    }))
    return { balance: 225, earned_this_month: 50, lifetime_earned: 225, ledger: { items, total: TOTAL, page, page_size: 20 } }
  }
  const pagedServer = (fail = () => false) =>
    mockServer({ 'GET /me/points': (req) => (fail(req) ? 'network' : ledgerPage(Number(req.query.page || 1))) })
  const pagesAsked = (server) => server.callsTo('GET /me/points').map((c) => c.query.page)

  test('onReachBottom loads the next pages and appends until the total; then 没有更多了', async () => {
    const server = pagedServer()
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    expect(page.data.entries).toHaveLength(20)
    expect(pageText(page)).not.toContain('没有更多了')
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(40)
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries.map((e) => e.id)).toEqual(Array.from({ length: TOTAL }, (_, i) => TOTAL - i))
    expect(pageText(page)).toContain('驿站打卡 1')
    expect(pageText(page)).toContain('没有更多了')
    await page.instance.onReachBottom() // nothing left to ask for
    await flush()
    expect(pagesAsked(server)).toEqual(['1', '2', '3'])
  })

  test('two bottom events while a page is loading send one request', async () => {
    const server = pagedServer()
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    page.instance.onReachBottom()
    page.instance.onReachBottom()
    await flush()
    expect(pagesAsked(server)).toEqual(['1', '2'])
    expect(page.data.entries).toHaveLength(40)
  })

  test('onShow and pull-down start again from page 1', async () => {
    const server = pagedServer()
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(40)
    await page.instance.onShow()
    await flush()
    expect(page.data.entries).toHaveLength(20)
    await page.instance.onReachBottom()
    await page.instance.onPullDownRefresh()
    await flush()
    expect(page.data.entries).toHaveLength(20)
    expect(pagesAsked(server)).toEqual(['1', '2', '1', '2', '1'])
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(40)
  })

  test('a failed next page keeps the entries shown and says why; the next bottom retries it', async () => {
    let offline = false
    const server = pagedServer(() => offline)
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    offline = true
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(20)
    expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '网络不稳定，请稍后重试' }))
    offline = false
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(40)
    expect(pagesAsked(server)).toEqual(['1', '2', '2'])
  })

  test('a next page answering after a pull-down refresh is not appended to the fresh first page', async () => {
    pagedServer()
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    const pending = []
    wx.request = jest.fn((opts) => {
      pending.push(opts)
      return { abort() {} }
    })
    page.instance.onReachBottom() // page 2, answered late
    page.instance.onPullDownRefresh() // page 1
    await flush()
    expect(pending.map((o) => o.url.split('?')[1])).toEqual(['page=2', 'page=1'])
    pending[1].success({ statusCode: 200, data: ledgerPage(1), header: {} })
    await flush()
    pending[0].success({ statusCode: 200, data: ledgerPage(2), header: {} })
    await flush()
    expect(page.data.entries.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => TOTAL - i))
  })

  test('a bottom event while page 1 reloads waits for it: no page 3 after a fresh page 1', async () => {
    pagedServer()
    const page = render(pointsId)
    await page.instance.onShow()
    await flush()
    await page.instance.onReachBottom()
    await flush()
    expect(page.data.entries).toHaveLength(40)
    const pending = []
    wx.request = jest.fn((opts) => {
      pending.push(opts)
      return { abort() {} }
    })
    page.instance.onShow() // page 1 again, answered late
    page.instance.onReachBottom()
    await flush()
    expect(pending.map((o) => o.url.split('?')[1])).toEqual(['page=1'])
    pending[0].success({ statusCode: 200, data: ledgerPage(1), header: {} })
    await flush()
    expect(page.data.entries).toHaveLength(20)
    page.instance.onReachBottom()
    await flush()
    expect(pending.map((o) => o.url.split('?')[1])).toEqual(['page=1', 'page=2'])
  })
})
