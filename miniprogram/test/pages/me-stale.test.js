// 我的 is a tab page that loads /me on every show: an answer from an earlier show arriving after
// a newer one (weak network) must neither put the older profile back on screen nor be stored as
// the cached user other pages read.
const { heldServer, load, render, flush, pageText, loggedIn } = require('../helpers')
const { getCachedUser } = require('../../src/services/request')

const id = load('pages/me/index')

const BEFORE = { id: 1, role: 'rider', community_id: null }
const REGISTERED = { id: 1, role: 'rider', community_id: 9, community: { id: 9, name: '金水社区' } }
const ok = (body) => ({ statusCode: 200, data: body, header: {} })

test('an older /me answer arriving last does not undo the registration just made', async () => {
  loggedIn(BEFORE)
  const server = heldServer()
  const page = render(id)
  page.instance.onShow() // first visit: /me on its way (slow)
  await flush()
  page.instance.onShow() // registered meanwhile, back on 我的: /me again
  await flush()
  expect(server.held).toHaveLength(2)
  const [older, newer] = server.held.splice(0, 2)
  newer.success(ok(REGISTERED))
  await flush()
  server.answer('/org-units/9', { id: 9, name: '金水社区' })
  await flush()
  expect(pageText(page)).toContain('金水社区')
  expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1)
  older.success(ok(BEFORE))
  await flush()
  expect(pageText(page)).toContain('金水社区')
  expect(pageText(page)).not.toContain('尚未社区报到')
  expect(getCachedUser().community_id).toBe(9)
  expect(server.held).toHaveLength(0) // the dropped answer asks for no org unit either
  expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1)
})

test('an older /me failing last shows no "out of date" note over the fresh profile', async () => {
  loggedIn(BEFORE)
  const server = heldServer()
  const page = render(id)
  page.instance.onShow()
  page.instance.onShow()
  await flush()
  const [older, newer] = server.held.splice(0, 2)
  newer.success(ok(REGISTERED))
  await flush()
  older.fail({ errMsg: 'request:fail timeout' })
  await flush()
  expect(page.data.stale).toBe('')
  expect(page.data.registered).toBe(true)
})

test('the getOrgUnit follow-up of a dropped answer does not rename the community', async () => {
  loggedIn(BEFORE)
  const server = heldServer()
  const page = render(id)
  page.instance.onShow()
  await flush()
  server.held.shift().success(ok({ ...REGISTERED, community: undefined })) // org unit lookup starts
  await flush()
  page.instance.onShow() // a newer load: user moved to community 10
  await flush()
  server.answer('/me', { id: 1, role: 'rider', community_id: 10, community: { id: 10, name: '新华社区' } })
  await flush()
  server.answer('/org-units/9', { id: 9, name: '金水社区' }) // the old follow-up answers last
  await flush()
  expect(page.data.communityName).not.toBe('金水社区')
})
