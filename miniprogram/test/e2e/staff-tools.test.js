/** @jest-environment node */
// Staff tools against the live server: the community admin lists the stations in scope and
// downloads one poster PNG with the token (wx.downloadFile), and the staff list the dispatch
// picker uses carries user_id/role/org_unit_name.
const fs = require('fs')
const { API_URL, openPage, actor, until } = require('./harness')

if (!API_URL) {
  test('FENGCHAO_API_URL is set', () => {
    throw new Error('FENGCHAO_API_URL is not set: run `python -m tests.e2e_server -- npm --prefix miniprogram run test:e2e`')
  })
} else {
  const admin = actor('o_demo_community')
  require('../../src/config').setBaseUrl(API_URL)
  const auth = require('../../src/services/auth')
  const org = require('../../src/services/org')

  test('community admin: station list → poster PNG downloaded with the token', async () => {
    admin.act()
    const login = await auth.login()
    expect(login.user.role).toBe('community_admin')
    const list = openPage('packages/staff/stations/index')
    await list.onLoad()
    expect(list.data.error).toBe('')
    expect(list.data.items.length).toBeGreaterThan(0)
    const poster = openPage('packages/staff/station-poster/index')
    await poster.onLoad({ id: String(list.data.items[0].id) })
    await until(() => !poster.data.posterLoading)
    expect(poster.data.error).toBe('')
    expect(poster.data.posterError).toBe('')
    expect(poster.data.canRotate).toBe(true)
    expect(fs.readFileSync(poster.data.poster).subarray(1, 4).toString()).toBe('PNG')
  })

  test('the dispatch picker\'s staff list follows the server contract', async () => {
    admin.act()
    const staff = await org.listStaff()
    expect(staff.items.length).toBeGreaterThan(0)
    expect(staff.items[0]).toMatchObject({ user_id: expect.any(Number), role: expect.any(String), org_unit_name: expect.any(String) })
  })
}
