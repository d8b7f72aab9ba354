/** @jest-environment node */
// End to end against a live server (python -m tests.e2e_server -- npm --prefix miniprogram
// run test:e2e). The real services/ modules and page logic run through the Node `wx` shim;
// the WeChat sandbox accepts login codes `sandbox:<openid>:<nonce>`. The demo data comes from
// `fengchao seed-demo` (淮北街社区 C-HUAIBEI, its admin o_demo_community, grid worker o_demo_grid).
const { API_URL, openPage, actor, until } = require('./harness')

if (!API_URL) {
  test('FENGCHAO_API_URL is set', () => {
    throw new Error('FENGCHAO_API_URL is not set: run `python -m tests.e2e_server -- npm --prefix miniprogram run test:e2e`')
  })
} else {
  const run = Math.random().toString(36).slice(2, 8)
  const rider = actor(`o_e2e_rider_${run}`)
  const staff = actor('o_demo_community')

  const config = require('../../src/config')
  config.setBaseUrl(API_URL)
  const api = require('../../src/services/request')
  const auth = require('../../src/services/auth')
  const me = require('../../src/services/me')
  const org = require('../../src/services/org')
  const stations = require('../../src/services/stations')
  const checkins = require('../../src/services/checkins')
  const points = require('../../src/services/points')
  const redemptions = require('../../src/services/redemptions')
  const subscribe = require('../../src/services/subscribe')
  const handoff = require('../../src/utils/handoff')

  const state = {}

  test('a new rider logs in (sandbox code), registers with 淮北街社区 and finds nearby stations', async () => {
    rider.act()
    const login = await auth.login()
    expect(login.is_new).toBe(true)
    expect(login.user).toMatchObject({ citizen_role: expect.any(String), community_id: null })
    expect(api.getToken()).toBe(login.token)

    const communities = await org.listOrgUnits({ level: 'community' })
    const huaibei = communities.items.find((c) => c.code === 'C-HUAIBEI')
    expect(huaibei).toMatchObject({ level: 'community', name: expect.stringContaining('淮北') })
    state.huaibei = huaibei

    const updated = await me.updateMe({ role: 'rider', community_id: huaibei.id, platform: 'meituan', display_name: `骑手${run}` })
    expect(updated).toMatchObject({ citizen_role: 'rider', community_id: huaibei.id, platform: 'meituan', display_name: `骑手${run}` })
    expect((await me.getMe()).community_id).toBe(huaibei.id)

    // the home page asks for stations around the rider (淮北街 area) and filters by service
    rider.wx.__setLocation(34.7302, 113.6348)
    const home = openPage('pages/home/index')
    await home.onLoad()
    expect(home.data.error).toBe('')
    expect(home.data.stations.length).toBeGreaterThan(0)
    const first = home.data.stations[0]
    expect(first).toMatchObject({ name: expect.any(String), kind: expect.any(String), kind_name: expect.any(String), distance_m: expect.any(Number), is_open_now: expect.any(Boolean) })
    const distances = home.data.stations.map((s) => s.distance_m)
    expect(distances).toEqual([...distances].sort((a, b) => a - b))
    expect(home.data.markers).toHaveLength(home.data.stations.length)
    // every service code the server sends is one the client can name in Chinese
    for (const s of home.data.stations) for (const code of s.services) expect(stations.serviceName(code)).not.toBe(code)

    state.nearbyAll = home.data.stations
    await home.onServiceTap({ currentTarget: { dataset: { code: 'heating_food' } } })
    expect(home.data.error).toBe('')
    expect(home.data.stations.length).toBeGreaterThan(0)
    for (const s of home.data.stations) expect(s.services).toContain('heating_food')
    state.station = home.data.stations[0]

    // the station detail page: Chinese kind/services and hours from the server's codes
    const detail = openPage('packages/station/detail/index')
    detail.onLoad({ id: String(state.station.id) })
    await until(() => !detail.data.loading)
    expect(detail.data.error).toBe('')
    expect(detail.data.station.id).toBe(state.station.id)
    expect(detail.data.services.map((s) => s.name)).toContain('热饭')
    expect(detail.data.hours).toMatch(/小时|每天|周/)
  })

  test('check-in with the station\'s real scene: out of range is refused, at the station earns points', async () => {
    // staff read the station's QR scene (the poster's mini-program code carries it)
    staff.act()
    const staffLogin = await auth.login()
    expect(staffLogin.user.role).toBe('community_admin')
    const adminStation = await api.get(`/admin/stations/${state.station.id}`)
    expect(typeof adminStation.qr_scene).toBe('string')
    expect(adminStation.qr_scene.length).toBeGreaterThan(0)

    rider.act()
    // 5 km away: the server's Chinese refusal is shown on the scan page, nothing earned
    rider.wx.__setLocation(adminStation.lat + 0.045, adminStation.lng)
    const far = openPage('packages/checkin/scan/index')
    await far.onLoad({ scene: encodeURIComponent(adminStation.qr_scene) })
    expect(far.data.errorCode).toBe('checkin.out_of_range')
    expect(far.data.error).toMatch(/[\u4e00-\u9fa5]/)
    expect((await points.myPoints()).balance).toBe(0)

    // at the station: the page opened from the code (options.scene) checks in and hands over
    rider.wx.__setLocation(adminStation.lat, adminStation.lng, 10)
    const scan = openPage('packages/checkin/scan/index')
    await scan.onLoad({ scene: encodeURIComponent(adminStation.qr_scene) })
    expect(scan.data.error).toBe('')
    const resultPage = openPage('packages/checkin/result/index')
    resultPage.onLoad()
    const result = resultPage.data.result
    expect(result).toBeTruthy()
    expect(result.points_awarded).toBeGreaterThan(0)
    expect(result.balance).toBe(result.points_awarded)
    expect(result.station.id).toBe(state.station.id)
    expect(resultPage.data.services).toContain('热饭')
    expect(handoff.take('checkin')).toBeUndefined()
    state.checkinPoints = result.points_awarded

    // the same station again today: refused with a Chinese reason
    const again = await checkins.checkIn({ scene: adminStation.qr_scene, lat: adminStation.lat, lng: adminStation.lng, accuracy: 10 }).catch((e) => e)
    expect(again).toBeInstanceOf(api.ApiError)
    expect(again.code).toMatch(/^checkin\./)
    expect(again.message).toMatch(/[\u4e00-\u9fa5]/)

    // another station: a retry of one check-in (same Idempotency-Key) is replayed, not paid twice
    const other = state.nearbyAll.find((s) => s.id !== state.station.id && s.is_open_now)
    staff.act()
    const otherAdmin = await api.get(`/admin/stations/${other.id}`)
    rider.act()
    const key = api.newIdempotencyKey()
    const body = { scene: otherAdmin.qr_scene, lat: otherAdmin.lat, lng: otherAdmin.lng, accuracy: 10 }
    const second = await checkins.checkIn(body, { idempotencyKey: key })
    const replay = await checkins.checkIn(body, { idempotencyKey: key })
    expect(second.points_awarded).toBeGreaterThan(0)
    expect(replay.checkin.id).toBe(second.checkin.id)
    expect(replay.replayed).toBe(true)
    expect(replay.balance).toBe(state.checkinPoints + second.points_awarded)
    state.checkinPoints += second.points_awarded
    expect((await checkins.myCheckins()).items.filter((c) => c.status === 'ok')).toHaveLength(2)

    // my points page shows the balance and the ledger line
    const pointsPage = openPage('pages/points/index')
    await pointsPage.onShow()
    expect(pointsPage.data.error).toBe('')
    expect(pointsPage.data.summary.balance).toBe(state.checkinPoints)
    expect(pointsPage.data.entries).toHaveLength(2)
    expect(pointsPage.data.entries[0]).toMatchObject({ positive: true, reason: expect.stringMatching(/打卡/) })
  })

  test('redeem a reward (voucher + QR payload), staff fulfil it by scanning, the rider sees it fulfilled', async () => {
    // the rider needs 20 points for 湿巾: the community grants some (a staff adjustment)
    staff.act()
    const riderMe = await (async () => {
      rider.act()
      return me.getMe()
    })()
    staff.act()
    const adjustment = await api.post('/admin/points/adjustments', { user_id: riderMe.id, delta: 100, reason: 'e2e 志愿服务奖励' })
    expect(adjustment.balance).toBe(state.checkinPoints + 100)

    rider.act()
    const page = openPage('packages/points/rewards/index')
    await page.onLoad()
    await until(() => page.data.balance !== null)
    expect(page.data.balance).toBe(state.checkinPoints + 100)
    const wipes = page.data.items.find((r) => r.name === '湿巾 80 抽' && r.org_unit_id === state.huaibei.id)
    expect(wipes).toBeTruthy()
    await page.onRedeem({ currentTarget: { dataset: { id: wipes.id } } })
    expect(page.data.voucher).toMatchObject({ code: expect.any(String), qr: `fc-voucher:${page.data.voucher.code}`, name: '湿巾 80 抽' })
    expect(page.data.balance).toBe(state.checkinPoints + 100 - wipes.cost)
    state.voucher = page.data.voucher

    // after a redemption the app asks for the redemption messages and tells the server
    const accepted = await subscribe.askSubscribe('redemption')
    expect(accepted.length).toBeGreaterThan(0)
    const subs = await api.get('/me/subscriptions')
    for (const id of accepted) expect(subs.credits).toEqual(expect.arrayContaining([expect.objectContaining({ template_id: id, count: expect.any(Number) })]))

    // a redeem retried with the same key is charged once
    const key = api.newIdempotencyKey()
    const first = await redemptions.redeem(wipes.id, { idempotencyKey: key })
    const retry = await redemptions.redeem(wipes.id, { idempotencyKey: key })
    expect(retry.id).toBe(first.id)
    expect((await points.myPoints()).balance).toBe(state.checkinPoints + 100 - 2 * wipes.cost)

    const mine = await redemptions.myRedemptions({ status: 'pending' })
    expect(mine.items.map((r) => r.code)).toEqual(expect.arrayContaining([state.voucher.code, first.code]))

    // staff scan the voucher QR (its payload) on the fulfil page
    staff.act()
    const fulfil = openPage('packages/staff/fulfil/index')
    staff.wx.scanCode = (opts) => setTimeout(() => opts.success({ result: state.voucher.qr, scanType: 'QR_CODE' }), 0)
    await fulfil.onScan()
    // the scan only looks it up: what it is, before anything is handed over
    expect(fulfil.data.error).toBe('')
    expect(fulfil.data.result).toBe(null)
    expect(fulfil.data.voucher).toMatchObject({ code: state.voucher.code, rewardName: '湿巾 80 抽', status: 'pending', canFulfil: true })
    await fulfil.onFulfil() // 确认发放
    expect(fulfil.data.error).toBe('')
    expect(fulfil.data.result).toMatchObject({ rewardName: '湿巾 80 抽', code: state.voucher.code })
    // the same voucher twice: a clear refusal
    const twice = await redemptions.fulfil(state.voucher.code).catch((e) => e)
    expect(twice).toBeInstanceOf(api.ApiError)
    expect(twice.status).toBe(409)
    expect(twice.message).toMatch(/[\u4e00-\u9fa5]/)

    rider.act()
    const list = openPage('packages/points/redemptions/index')
    await list.onLoad()
    const done = list.data.items.find((r) => r.code === state.voucher.code)
    expect(done).toMatchObject({ status: 'fulfilled', statusName: '已领取', rewardName: '湿巾 80 抽' })
  })

  test('errors come back in the envelope as ApiError with a Chinese message', async () => {
    rider.act()
    const err = await stations.getStation(987654321).catch((e) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err.status).toBe(404)
    expect(err.code).toMatch(/^station\./)
    expect(err.message).toMatch(/[\u4e00-\u9fa5]/)
    // a rider is not staff
    const forbidden = await api.get('/work-orders').catch((e) => e)
    expect(forbidden).toBeInstanceOf(api.ApiError)
    expect([403, 404]).toContain(forbidden.status)
  })

  test('a lost token: the next call logs in again silently once', async () => {
    rider.act()
    rider.wx.setStorageSync(api.TOKEN_KEY, 'not-a-valid-token')
    const again = await me.getMe()
    expect(again.display_name).toBe(`骑手${run}`)
    expect(api.getToken()).not.toBe('not-a-valid-token')
  })
}
