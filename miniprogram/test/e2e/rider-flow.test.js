/** @jest-environment node */
// End to end against a live server: FENGCHAO_API_URL=http://127.0.0.1:5000/api/v1 npm run test:e2e
// The real services/ modules run through the Node wx shim; the WeChat sandbox accepts
// login codes of the form `sandbox:<openid>`.
const { createWx } = require('./wx-shim')

const API_URL = process.env.FENGCHAO_API_URL

if (!API_URL) {
  test('FENGCHAO_API_URL is set', () => {
    throw new Error('FENGCHAO_API_URL is not set: start the server and run e.g. FENGCHAO_API_URL=http://127.0.0.1:5000/api/v1 npm run test:e2e')
  })
} else {
  const openid = `o_e2e_rider`
  const suffix = Math.random().toString(36).slice(2, 10)
  global.wx = createWx({ loginCode: () => `sandbox:${openid}:${suffix}` })

  const config = require('../../src/config')
  config.setBaseUrl(API_URL)
  const api = require('../../src/services/request')
  const auth = require('../../src/services/auth')
  const me = require('../../src/services/me')
  const org = require('../../src/services/org')
  const stations = require('../../src/services/stations')

  test('a new rider logs in, registers with a community and finds nearby stations', async () => {
    const login = await auth.login()
    expect(typeof login.token).toBe('string')
    expect(login.is_new).toBe(true)
    expect(login.user).toEqual(expect.objectContaining({ id: expect.anything(), role: expect.any(String) }))
    expect(api.getToken()).toBe(login.token)

    const communities = await org.listOrgUnits({ level: 'community' })
    expect(communities).toEqual(expect.objectContaining({ items: expect.any(Array), total: expect.any(Number), page: 1 }))
    expect(communities.items.length).toBeGreaterThan(0) // `fengchao seed-demo` makes some
    const community = communities.items[0]
    expect(community).toEqual(expect.objectContaining({ id: expect.anything(), code: expect.any(String), name: expect.any(String), level: 'community' }))

    const updated = await me.updateMe({ role: 'rider', community_id: community.id, platform: 'meituan', display_name: `e2e骑手${suffix.slice(0, 4)}` })
    expect(updated).toEqual(expect.objectContaining({ role: 'rider', community_id: community.id, platform: 'meituan' }))
    const again = await me.getMe()
    expect(again.community_id).toBe(community.id)

    const nearby = await stations.nearby({ lat: 34.7466, lng: 113.6253, radiusM: 5000 })
    expect(nearby.items).toEqual(expect.any(Array))
    for (const s of nearby.items) {
      expect(s).toEqual(expect.objectContaining({ id: expect.anything(), name: expect.any(String), distance_m: expect.any(Number), is_open_now: expect.any(Boolean), services: expect.any(Array) }))
    }
    const distances = nearby.items.map((s) => s.distance_m)
    expect(distances).toEqual([...distances].sort((a, b) => a - b))
  })

  test('errors come back in the envelope as ApiError', async () => {
    const err = await stations.getStation(987654321).catch((e) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err.status).toBe(404)
    expect(typeof err.code).toBe('string')
    expect(err.message).toMatch(/[\u4e00-\u9fa5]/) // a Chinese message
  })
}
