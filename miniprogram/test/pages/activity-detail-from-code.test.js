// The activity's printed sign-in code is a mini-program code (server/activities/qr.py) whose page
// is packages/activities/detail/index and whose scene is the signed `a<id base36>.<sig>`.
// Scanned with WeChat's own camera — what a rider does at the venue — WeChat opens the page with
// options = { scene: encodeURIComponent(scene) } and no `id`.
const { mockServer, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/detail/index')
beforeEach(() => loggedIn())

const SCENE = 'a4.AbCdEfGh12345678'
const activity = (mine) => ({ id: 4, title: '环境清洁日', place: '淮北街', starts_at: '2026-06-06T09:00:00+08:00', ends_at: '2026-06-06T11:00:00+08:00', status: 'published', capacity: 20, enrolled_count: 1, points: 10, my_enrolment: mine })
const ENROLLED = { id: 7, activity_id: 4, status: 'enrolled', seq: 1 }
// what the page asked about activities (it also prefetches the subscribe templates)
const asked = (server) => server.calls.filter((c) => c.path.startsWith('/activities')).map((c) => `${c.method} ${c.path}`)

test('opened from the code, the page shows its activity and signs in with its scene in one tap', async () => {
  let mine = ENROLLED
  let answer
  const server = mockServer({
    'GET /activities/:id': () => activity(mine),
    'POST /activities/attendance': () => {
      mine = { ...ENROLLED, signed_in_at: '2026-06-06T08:40:00+08:00' }
      return { action: 'signed_in', activity: { id: 4, title: '环境清洁日' }, enrolment_id: 7, points_awarded: null }
    },
  })
  const request = wx.request
  wx.request = jest.fn((opts) => {
    if (opts.method !== 'POST') return request(opts)
    answer = () => request(opts) // held: the second tap comes while the first is on its way
    return { abort() {} }
  })
  wx.scanCode = jest.fn()
  const page = render(id)
  await page.instance.onLoad({ scene: encodeURIComponent(SCENE) })
  await flush()
  expect(asked(server)).toEqual(['GET /activities/4'])
  expect(pageText(page)).toContain('环境清洁日')
  const button = page.querySelector('.sign-in')
  expect(button.dom.textContent.trim()).toBe('签到')
  button.dispatchEvent('tap')
  button.dispatchEvent('tap')
  await flush()
  answer()
  await flush(30)
  expect(wx.scanCode).not.toHaveBeenCalled() // the code was scanned already
  const posts = server.callsTo('POST /activities/attendance')
  expect(posts).toHaveLength(1)
  expect(posts[0].data).toEqual({ scene: SCENE, lat: 34.7466, lng: 113.6253, accuracy: expect.any(Number) })
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '签到成功' }))
  expect(page.querySelector('.sign-in').dom.textContent.trim()).toBe('签退') // reloaded
  expect(page.querySelector('.withdraw')).toBeFalsy()
})

test('the id is the scene\'s base-36 number', async () => {
  const server = mockServer({ 'GET /activities/:id': () => ({ ...activity(null), id: 71 }) })
  const page = render(id)
  await page.instance.onLoad({ scene: encodeURIComponent('a1z.AbCdEfGh12345678') })
  await flush()
  expect(asked(server)).toEqual(['GET /activities/71'])
  expect(page.querySelector('.enrol')).toBeTruthy()
})

test('a code that is not an activity\'s asks for the right one, and loads that', async () => {
  const server = mockServer({ 'GET /activities/:id': () => activity(ENROLLED) })
  const page = render(id)
  await page.instance.onLoad({ scene: encodeURIComponent('s4.AbCdEfGh12345678') })
  await flush()
  expect(asked(server)).toEqual([])
  expect(pageText(page)).toContain('没有识别到活动签到码')
  wx.scanCode = jest.fn((o) => o.success({ path: `packages/activities/detail/index?scene=${encodeURIComponent(SCENE)}`, result: '' }))
  await page.instance.onRetry()
  await flush()
  expect(asked(server)).toEqual(['GET /activities/4'])
  expect(page.querySelector('.sign-in').dom.textContent.trim()).toBe('签到')
})
