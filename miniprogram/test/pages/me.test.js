const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('pages/me/index')

test('rider: profile, register banner when not registered, no staff menu', async () => {
  loggedIn()
  mockServer({ 'GET /me': () => ({ id: 1, role: 'rider', display_name: '王师傅', platform: 'meituan', community_id: null }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  const t = pageText(page)
  expect(t).toContain('王师傅')
  expect(t).toContain('骑手/快递员 · 美团')
  expect(t).toContain('完成社区报到')
  expect(t).not.toContain('工单处理')
  page.querySelector('.register-banner').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/profile/register/index' })
})

test('grid worker sees the staff workbench', async () => {
  loggedIn({ id: 2, role: 'grid_worker' })
  mockServer({ 'GET /me': () => ({ id: 2, role: 'grid_worker', display_name: '李网格', community: { id: 3, name: '金水社区' } }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('工单处理')
  expect(pageText(page)).toContain('驿站码牌')
  expect(pageText(page)).not.toContain('待派单工单') // dispatch is for admins
  expect(pageText(page)).toContain('金水社区')
  page.querySelector('.staff-menu .menu-item').dispatchEvent('tap')
  await flush()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/staff/work-orders/index' })
})

test('community admin also sees 待派单工单 (dispatch); 驿站码牌 opens the station list', async () => {
  loggedIn({ id: 5, role: 'community_admin' })
  mockServer({ 'GET /me': () => ({ id: 5, role: 'community_admin', display_name: '张主任', staff: { role: 'community_admin', org_unit_id: 7, org_unit_name: '金水社区' } }) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(page.data.staffMenu.map((m) => m.key)).toEqual(['work-orders', 'dispatch', 'fulfil', 'stations'])
  expect(pageText(page)).toContain('待派单工单')
  page.instance.onOpen({ currentTarget: { dataset: { url: page.data.staffMenu[1].url } } })
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/packages/staff/work-orders/index?filter=received' })
  page.instance.onOpen({ currentTarget: { dataset: { url: page.data.staffMenu[3].url } } })
  expect(wx.navigateTo).toHaveBeenLastCalledWith({ url: '/packages/staff/stations/index' })
})

test('error without a cached user shows the message', async () => {
  mockServer({ 'GET /me': () => refusal('internal_error', '服务繁忙，请稍后再试', 500) })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('服务繁忙，请稍后再试')
})

test('a failed load over a cached profile keeps it, says it may be out of date, and clears the note once a load succeeds', async () => {
  loggedIn({ id: 2, role: 'grid_worker', display_name: '李网格' })
  let fail = true
  mockServer({
    'GET /me': () => (fail ? refusal('internal_error', '服务繁忙，请稍后再试', 500) : { id: 2, role: 'grid_worker', display_name: '李网格（新）' }),
  })
  const page = render(id)
  await page.instance.onShow()
  await flush()
  expect(pageText(page)).toContain('李网格')
  expect(page.data.error).toBe('')
  expect(page.querySelector('.stale-banner').dom.textContent).toBe('服务繁忙，请稍后再试；以下是上次的资料，下拉可刷新')

  fail = false
  page.querySelector('.stale-banner').dispatchEvent('tap')
  await flush()
  expect(pageText(page)).toContain('李网格（新）')
  expect(page.querySelector('.stale-banner')).toBeUndefined()
})
