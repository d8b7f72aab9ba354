// 社区报到: the rider picks 街道 A, then (before A's communities arrive on a weak network) 街道 B.
// A's late answer replaces B's communities: the picker under 街道 B lists A's communities and the
// rider is registered to a community of the wrong street.
const { load, render, flush, loggedIn, heldServer } = require('../helpers')

const id = load('packages/profile/register/index')
beforeEach(() => loggedIn())

const STREETS = [
  { id: 10, name: '经三路街道', level: 'street' },
  { id: 11, name: '花园路街道', level: 'street' },
]

test('the communities listed are those of the street now selected', async () => {
  const server = heldServer()
  const page = render(id)
  const loading = page.instance.onLoad()
  server.answer('/me', { id: 1, citizen_role: 'rider', community_id: null })
  server.answer('level=street', { items: STREETS, total: 2 })
  await loading
  await flush()
  const a = page.instance.onStreetChange({ detail: { value: '0' } }) // 经三路街道 (slow answer)
  const b = page.instance.onStreetChange({ detail: { value: '1' } }) // 花园路街道
  server.answer('parent_id=11', { items: [{ id: 31, name: '花园社区', level: 'community', parent_id: 11 }], total: 1 })
  await flush()
  server.answer('parent_id=10', { items: [{ id: 21, name: '金水社区', level: 'community', parent_id: 10 }], total: 1 })
  await Promise.all([a, b])
  await flush()
  expect(page.data.streetIndex).toBe(1)
  expect(page.data.communities.map((c) => c.parent_id)).toEqual([11])
})
