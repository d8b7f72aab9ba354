/** @jest-environment node */
// A resident reports a problem with a photo (report page + drafts + multipart upload), the grid
// worker of that grid accepts and resolves it with an after-photo (work-order pages), the
// resident rates it (report detail page); and a draft made offline goes out exactly once.
const { API_URL, openPage, actor, jpegFile, until } = require('./harness')

if (!API_URL) {
  test('FENGCHAO_API_URL is set', () => {
    throw new Error('FENGCHAO_API_URL is not set: run `python -m tests.e2e_server -- npm --prefix miniprogram run test:e2e`')
  })
} else {
  const run = Math.random().toString(36).slice(2, 8)
  const resident = actor(`o_e2e_resident_${run}`)
  const grid = actor('o_demo_grid')

  const config = require('../../src/config')
  config.setBaseUrl(API_URL)
  const api = require('../../src/services/request')
  const auth = require('../../src/services/auth')
  const me = require('../../src/services/me')
  const org = require('../../src/services/org')
  const reports = require('../../src/services/reports')
  const workOrders = require('../../src/services/workOrders')
  const drafts = require('../../src/services/drafts')

  const state = {}

  beforeAll(async () => {
    resident.act()
    await auth.login()
    const communities = await org.listOrgUnits({ level: 'community' })
    state.huaibei = communities.items.find((c) => c.code === 'C-HUAIBEI')
    await me.updateMe({ role: 'resident', community_id: state.huaibei.id, display_name: `居民${run}` })
    const grids = await org.listOrgUnits({ level: 'grid', parentId: state.huaibei.id })
    state.g1 = grids.items.find((g) => g.code === 'C-HUAIBEI-G1')
    expect(state.g1).toMatchObject({ center_lat: expect.any(Number), center_lng: expect.any(Number) })
    // somewhere inside grid G1 (a few metres off its centre)
    state.where = { lat: state.g1.center_lat + 0.0001, lng: state.g1.center_lng + 0.0001 }
    resident.wx.__setLocation(state.where.lat, state.where.lng)
  })

  test('a resident files a report with a photo; duplicates are offered before the next one', async () => {
    resident.act()
    const page = openPage('pages/report/index')
    page.onLoad()
    page.onShow()
    await until(() => page.data.categories.length && page.data.draft.lat !== null)
    expect(page.data.categoriesError).toBe('')
    const category = page.data.categories[0]
    expect(category).toMatchObject({ id: expect.any(Number), code: expect.any(String), name: expect.any(String) })
    state.category = category

    await page.onSelectCategory({ detail: { id: category.id, name: category.name } })
    page.onPhotosChange({ detail: { photos: [{ path: jpegFile('before'), uploadId: null }] } })
    page.onDescInput({ detail: { value: `楼道堆放杂物堵住消防通道 e2e-${run}` } })
    page.onAnonymousChange({ detail: false })
    // saved to storage at once (survives a closed app)
    expect(drafts.getCurrentDraft()).toMatchObject({ category_id: category.id, lat: state.where.lat, photos: [expect.objectContaining({ uploadId: null })] })

    await page.onSubmit()
    expect(page.data.formError).toBe('')
    expect(page.data.submitted).toMatchObject({ id: expect.any(Number), duplicates: [] })
    state.reportId = page.data.submitted.id
    expect(drafts.listPending()).toHaveLength(0)

    const report = await reports.getReport(state.reportId)
    expect(report).toMatchObject({ id: state.reportId, category: expect.objectContaining({ id: category.id }), status_name: expect.any(String) })
    expect(['received', 'dispatched']).toContain(report.status)
    expect(report.photos).toHaveLength(1)
    // the photo URL is a signed URL the <image> can load: it serves a JPEG
    const photo = await fetch(report.photos[0].url)
    expect(photo.status).toBe(200)
    expect(photo.headers.get('content-type')).toMatch(/^image\/jpeg/)
    expect(report.timeline.map((e) => e.action)).toContain('submit')

    // a neighbour about to report the same thing nearby sees it first and can +1 it
    const neighbour = actor(`o_e2e_neighbour_${run}`, { location: { latitude: state.where.lat, longitude: state.where.lng, accuracy: 10 } }).act()
    await auth.login()
    await me.updateMe({ role: 'resident', community_id: state.huaibei.id })
    const second = openPage('pages/report/index')
    second.onLoad()
    await until(() => second.data.draft.lat !== null)
    await second.onSelectCategory({ detail: { id: category.id, name: category.name } })
    const hint = second.data.nearby.find((r) => r.id === state.reportId)
    expect(hint).toMatchObject({ distance_m: expect.any(Number), status_name: expect.any(String) })
    await second.onUpvote({ currentTarget: { dataset: { id: state.reportId } } })
    expect(second.data.plusOned[state.reportId]).toBe(true)
    expect(neighbour).toBeTruthy()
    resident.act()
    expect((await reports.getReport(state.reportId)).confirm_count).toBe(1)
  })

  test('the grid worker accepts it and resolves it with a note and an after-photo', async () => {
    grid.act()
    const login = await auth.login()
    expect(login.user.role).toBe('grid_worker')
    const list = openPage('packages/staff/work-orders/index')
    await list.onShow()
    expect(list.data.error).toBe('')
    let item = list.data.items.find((w) => w.report.id === state.reportId)
    if (!item) {
      // not auto-dispatched (no one on duty): the community admin dispatches it to the grid worker
      const admin = actor('o_demo_community').act()
      await auth.login()
      const orders = await workOrders.listWorkOrders({ state: 'received' })
      const order = orders.items.find((w) => w.report.id === state.reportId)
      await workOrders.transition(order.id, 'dispatch', { assigneeId: login.user.id, note: '请处理' })
      expect(admin).toBeTruthy()
      grid.act()
      await list.onShow()
      item = list.data.items.find((w) => w.report.id === state.reportId)
    }
    expect(item).toMatchObject({ state: 'dispatched', stateName: '已派单', title: state.category.name })

    const detail = openPage('packages/staff/work-order-detail/index')
    await detail.onLoad({ id: String(item.id) })
    expect(detail.data.error).toBe('')
    expect(detail.data.report.id).toBe(state.reportId)
    expect(detail.data.report.photos).toHaveLength(1)
    expect(detail.data.actions.map((a) => a.code)).toContain('accept')

    await detail.onAction({ currentTarget: { dataset: { code: 'accept' } } })
    expect(detail.data.formError).toBe('')
    expect(detail.data.order.state).toBe('accepted')
    expect(detail.data.actions.map((a) => a.code)).toEqual(expect.arrayContaining(['resolve', 'hold']))

    // resolving without an after-photo: refused by the page before anything is sent, and by the server
    detail.onNote({ detail: { value: '已联系物业清理，通道恢复畅通' } })
    await detail.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
    expect(detail.data.formError).toMatch(/照片/)
    const refused = await workOrders.transition(item.id, 'resolve', { note: '已处理' }).catch((e) => e)
    expect(refused).toBeInstanceOf(api.ApiError)
    expect(refused).toMatchObject({ status: 422, code: 'work_order.photo_required' })

    detail.onPhotosChange({ detail: { photos: [{ path: jpegFile('after'), uploadId: null }] } })
    await detail.onAction({ currentTarget: { dataset: { code: 'resolve' } } })
    expect(detail.data.formError).toBe('')
    expect(detail.data.order.state).toBe('resolved')
    const resolveEvent = detail.data.report.timeline.find((e) => e.action === 'resolve')
    expect(resolveEvent).toMatchObject({ note: '已联系物业清理，通道恢复畅通' })
    expect(resolveEvent.photos).toHaveLength(1)
  })

  test('the resident sees it resolved and rates it', async () => {
    resident.act()
    const page = openPage('packages/reports/detail/index')
    await page.onLoad({ id: String(state.reportId) })
    expect(page.data.error).toBe('')
    expect(page.data.report.status).toBe('resolved')
    expect(page.data.statusName).toBe('已办结')
    expect(page.data.canRate).toBe(true)
    const actions = page.data.report.timeline.map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['submit', 'accept', 'resolve']))

    page.onRate({ detail: 5 })
    page.onFixedChange({ detail: true })
    page.onComment({ detail: { value: '处理很及时，谢谢网格员' } })
    await page.onSendFeedback()
    expect(page.data.report.feedback).toMatchObject({ stars: 5, comment: '处理很及时，谢谢网格员' })
    expect(page.data.report.timeline.map((e) => e.action)).toContain('feedback')

    const mine = openPage('packages/reports/mine/index')
    await mine.onShow()
    expect(mine.data.items.find((r) => r.id === state.reportId)).toMatchObject({ statusName: expect.any(String), title: state.category.name })
  })

  test('a draft made offline survives a closed app and is submitted exactly once when back online', async () => {
    resident.act()
    const before = (await reports.myReports()).total

    // offline: the draft is kept in the queue, nothing reaches the server
    resident.wx.__setNetwork('offline')
    let draft = drafts.getCurrentDraft()
    draft = drafts.updateDraft(draft.localId, {
      category_id: state.category.id,
      category_name: state.category.name,
      description: `夜里路灯不亮 e2e-offline-${run}`,
      lat: state.where.lat,
      lng: state.where.lng,
      address: '淮北街 12 号楼下',
      photos: [{ path: jpegFile('offline'), uploadId: null }],
    })
    const offline = await drafts.submitDraft(draft.localId).catch((e) => e)
    expect(offline).toBeInstanceOf(api.NetworkError)
    expect(drafts.listPending().map((d) => d.localId)).toEqual([draft.localId])

    // the app is closed and opened again: fresh modules, the same storage
    const reopened = actor(resident.openid, { store: resident.wx.__store, net: resident.wx.__net }).act()
    let fresh
    jest.isolateModules(() => {
      require('../../src/config').setBaseUrl(API_URL)
      fresh = require('../../src/services/drafts')
    })
    expect(fresh.listPending().map((d) => d.localId)).toEqual([draft.localId])

    // a flaky network: the photo goes up, the report reaches the server but the answer is lost
    reopened.wx.__setNetwork('lost', /^POST \S+\/reports$/)
    const flaky = await fresh.flushPending()
    expect(flaky).toEqual({ submitted: [], failed: 1 })
    expect(fresh.listPending()).toHaveLength(1)
    expect(fresh.listPending()[0].photos[0].uploadId).toEqual(expect.any(Number)) // not uploaded twice

    // back online: the retry carries the same Idempotency-Key and gets the first report back
    reopened.wx.__setNetwork('online')
    const flushed = await fresh.flushPending()
    expect(flushed.failed).toBe(0)
    expect(flushed.submitted).toHaveLength(1)
    expect(fresh.listPending()).toHaveLength(0)
    expect(await fresh.flushPending()).toEqual({ submitted: [], failed: 0 })

    const after = await reports.myReports({ page_size: 50 })
    expect(after.total).toBe(before + 1)
    const mine = after.items.filter((r) => (r.description || '').includes(`e2e-offline-${run}`))
    expect(mine).toHaveLength(1)
    expect(mine[0].id).toBe(flushed.submitted[0].report.id)
    const detail = await reports.getReport(mine[0].id)
    expect(detail.photos).toHaveLength(1)
    // the POST /reports went out twice (lost answer + retry), with one key
    const posts = reopened.wx.__log.filter((l) => /^POST \S+\/reports$/.test(l.key))
    expect(posts.map((p) => p.mode)).toEqual(['lost', 'online'])
  })
}
