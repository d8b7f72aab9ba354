const { mockServer, refusal, load, render, flush, text, all, pageText, loggedIn } = require('../helpers')

const id = load('pages/home/index')

const STATIONS = {
  items: [
    { id: 11, name: '经三路小哥驿站', kind: 'courier', kind_name: '小哥驿站', lat: 34.75, lng: 113.63, distance_m: 320, is_open_now: true, services: ['rest', 'charging'] },
    { id: 12, name: '花园路爱心角', kind: 'love_corner', kind_name: '爱心角', lat: 34.76, lng: 113.64, distance_m: 1800, is_open_now: false, services: ['water'] },
  ],
}

beforeEach(() => loggedIn())

test('renders nearby stations from the current location', async () => {
  const server = mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  await page.instance.onLoad({})
  await flush()
  const cards = all(page, '.list >>> .name')
  expect(cards.map((c) => c.dom.textContent)).toEqual(['经三路小哥驿站', '花园路爱心角'])
  expect(text(page, '.list >>> .distance')).toBe('320 米')
  const q = server.callsTo('GET /stations/nearby')[0].query
  expect(q).toMatchObject({ lat: '34.7466', lng: '113.6253' })
  expect(q.service).toBeUndefined()
  expect(wx.getLocation.mock.calls[0][0].type).toBe('gcj02')
})

test('service chip and open-now switch filter the search', async () => {
  const server = mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  await page.instance.onLoad({})
  all(page, '.service-chip')[2].dispatchEvent('tap') // 手机充电 (after 歇脚休息, 饮水)
  await flush()
  expect(server.callsTo('GET /stations/nearby')[1].query.service).toBe('charging')
  await page.instance.onOpenNowChange({ detail: true })
  const last = server.callsTo('GET /stations/nearby').pop()
  expect(last.query).toMatchObject({ service: 'charging', open_now: 'true' })
})

test('tapping a station opens its detail page', async () => {
  mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  await page.instance.onLoad({})
  await flush()
  page.querySelector('.list >>> .card').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/station/detail/index?id=11&distance_m=320' })
})

test('shows the server message and retries on failure', async () => {
  let fail = true
  mockServer({ 'GET /stations/nearby': () => (fail ? refusal('internal_error', '服务繁忙，请稍后再试', 500) : STATIONS) })
  const page = render(id)
  await page.instance.onLoad({})
  await flush()
  expect(pageText(page)).toContain('服务繁忙，请稍后再试')
  expect(page.querySelector('.list')).toBeUndefined()
  fail = false
  await page.instance.onRetry()
  await flush()
  expect(all(page, '.list >>> .name')).toHaveLength(2)
})

describe('overlapping searches (weak network): only the latest one updates the list', () => {
  // wx.request held until the test answers it, so answers can arrive out of order
  const held = () => {
    const pending = []
    wx.request = jest.fn((opts) => {
      pending.push(opts)
      return { abort() {} }
    })
    return pending
  }
  const answer = (opts, items) => opts.success({ statusCode: 200, data: { items }, header: {} })
  const WATER = [{ id: 1, name: '饮水驿站', services: ['water'], distance_m: 50 }]
  const CHARGING = [{ id: 2, name: '充电驿站', services: ['charging'], distance_m: 100 }]

  test('an older filter answering late does not replace the newer one', async () => {
    const pending = held()
    const page = render(id)
    page.instance.onLoad({})
    await flush()
    answer(pending.shift(), [])
    await flush()
    page.instance.onServiceTap({ currentTarget: { dataset: { code: 'water' } } })
    await flush()
    page.instance.onServiceTap({ currentTarget: { dataset: { code: 'charging' } } })
    await flush()
    const [water, charging] = pending
    expect(water.url).toContain('service=water')
    expect(charging.url).toContain('service=charging')
    answer(charging, CHARGING)
    await flush()
    answer(water, WATER)
    await flush()
    expect(page.data.service).toBe('charging')
    expect(all(page, '.list >>> .name').map((c) => c.dom.textContent)).toEqual(['充电驿站'])
  })

  test('a late failure of an older search does not show an error over the newer list', async () => {
    const pending = held()
    const page = render(id)
    page.instance.onLoad({})
    await flush()
    answer(pending.shift(), [])
    await flush()
    page.instance.onOpenNowChange({ detail: true })
    await flush()
    page.instance.onOpenNowChange({ detail: false })
    await flush()
    const [openOnly, everything] = pending
    answer(everything, CHARGING)
    await flush()
    openOnly.fail({ errMsg: 'request:fail timeout' })
    await flush()
    expect(page.data.error).toBe('')
    expect(all(page, '.list >>> .name').map((c) => c.dom.textContent)).toEqual(['充电驿站'])
  })
})

test('location permission refused: the retry opens the settings, then searches once it is allowed', async () => {
  wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail auth deny' }))
  let allow = false
  wx.openSetting = jest.fn((o) => o.success({ authSetting: { 'scope.userLocation': allow } }))
  const server = mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  await page.instance.onLoad({})
  await flush()
  expect(pageText(page)).toContain('请在设置中允许蜂巢使用位置信息')
  expect(pageText(page)).toContain('去设置开启定位')
  await page.instance.onRetry() // settings closed without allowing: no new attempt
  expect(wx.openSetting).toHaveBeenCalledTimes(1)
  expect(wx.getLocation).toHaveBeenCalledTimes(1)
  allow = true
  wx.getLocation = jest.fn((o) => o.success({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 }))
  await page.instance.onRetry()
  await flush()
  expect(wx.openSetting).toHaveBeenCalledTimes(2)
  expect(server.callsTo('GET /stations/nearby')).toHaveLength(1)
  expect(all(page, '.list >>> .name')).toHaveLength(2)
})

test('a location timeout is not a refusal: the retry tries again without the settings', async () => {
  wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail timeout' }))
  wx.openSetting = jest.fn()
  mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  await page.instance.onLoad({})
  await flush()
  expect(pageText(page)).toContain('定位失败')
  await page.instance.onRetry()
  expect(wx.openSetting).not.toHaveBeenCalled()
  expect(wx.getLocation).toHaveBeenCalledTimes(2)
})

test('no location answer at all: after 10 s the page leaves 正在定位 and offers 重试', async () => {
  wx.getLocation = jest.fn() // never calls back
  mockServer({ 'GET /stations/nearby': () => STATIONS })
  const page = render(id)
  jest.useFakeTimers()
  try {
    const loading = page.instance.onLoad({})
    expect(page.data.loading).toBe(true)
    jest.advanceTimersByTime(10000)
    await loading
  } finally {
    jest.useRealTimers()
  }
  expect(page.data.loading).toBe(false)
  expect(pageText(page)).toContain('定位失败')
  expect(page.data.retryText).toBe('重试')
  wx.getLocation = jest.fn((o) => o.success({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 }))
  await page.instance.onRetry()
  await flush()
  expect(all(page, '.list >>> .name')).toHaveLength(2)
})

describe('back on the page after riding on: a stale position is asked again', () => {
  const moved = { latitude: 34.8012, longitude: 113.6898, accuracy: 15 }
  let now
  beforeEach(() => {
    now = 1_800_000_000_000
    jest.spyOn(Date, 'now').mockImplementation(() => now)
  })
  afterEach(() => jest.restoreAllMocks())

  const opened = async () => {
    const server = mockServer({ 'GET /stations/nearby': () => STATIONS })
    const page = render(id)
    await page.instance.onLoad({})
    page.instance.onShow() // the show that follows the load: nothing more
    await flush()
    expect(wx.getLocation).toHaveBeenCalledTimes(1)
    expect(server.callsTo('GET /stations/nearby')).toHaveLength(1)
    return { server, page }
  }

  test('within 2 minutes nothing is asked again; after them, the new position is searched', async () => {
    const { server, page } = await opened()
    now += 2 * 60 * 1000 - 1
    await page.instance.onShow()
    expect(wx.getLocation).toHaveBeenCalledTimes(1)
    expect(server.callsTo('GET /stations/nearby')).toHaveLength(1)

    now += 1
    wx.getLocation = jest.fn((o) => o.success(moved))
    const showing = page.instance.onShow()
    expect(page.data.loading).toBe(false) // the list stays on screen while it looks
    expect(all(page, '.list >>> .name')).toHaveLength(2)
    await showing
    await flush()
    expect(wx.getLocation).toHaveBeenCalledTimes(1)
    const searches = server.callsTo('GET /stations/nearby')
    expect(searches).toHaveLength(2)
    expect(searches[1].query).toMatchObject({ lat: '34.8012', lng: '113.6898' })
    expect(page.data.location).toMatchObject({ lat: 34.8012, lng: 113.6898 })

    // counted from the new fix: a return soon after asks nothing
    now += 60 * 1000
    await page.instance.onShow()
    expect(wx.getLocation).toHaveBeenCalledTimes(1)
  })

  test('a failed look on return keeps the list that is on screen and says so', async () => {
    const { server, page } = await opened()
    now += 10 * 60 * 1000
    wx.getLocation = jest.fn((o) => o.fail({ errMsg: 'getLocation:fail timeout' }))
    await page.instance.onShow()
    await flush()
    expect(server.callsTo('GET /stations/nearby')).toHaveLength(1)
    expect(all(page, '.list >>> .name')).toHaveLength(2)
    expect(page.data.error).toBe('')
    expect(wx.showToast).toHaveBeenCalledWith({ title: '位置未更新，显示的是之前的附近驿站', icon: 'none' })
  })
})
