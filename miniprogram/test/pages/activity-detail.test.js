const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/detail/index')
beforeEach(() => loggedIn())

const ENROLMENT = { id: 7, activity_id: 4, status: 'enrolled', seq: 1, waitlist_position: null }

test('enrol, then sign in by scanning the activity code', async () => {
  let enrolled = false
  wx.scanCode = jest.fn((o) => o.success({ path: 'packages/activities/detail/index?scene=act%3D4', result: '' }))
  const server = mockServer({
    'GET /activities/:id': () => ({ id: 4, title: '环境清洁日', place: '淮北街', starts_at: '2024-05-10T14:00:00+08:00', status: 'published', capacity: 20, enrolled_count: enrolled ? 1 : 0, points: 10, my_enrolment: enrolled ? ENROLMENT : null }),
    'POST /activities/:id/enrolments': () => {
      enrolled = true
      return { status: 201, body: ENROLMENT }
    },
    'POST /activities/attendance': () => ({ action: 'signed_in', activity: { id: 4, title: '环境清洁日' }, enrolment_id: 7, points_awarded: 10 }),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await flush()
  page.querySelector('.enrol').dispatchEvent('tap')
  await flush(30)
  expect(server.callsTo('POST /activities/4/enrolments')).toHaveLength(1)
  expect(pageText(page)).toContain('已报名')
  page.querySelector('.sign-in').dispatchEvent('tap')
  await flush(30)
  const att = server.callsTo('POST /activities/attendance')[0]
  expect(att.data).toEqual({ scene: 'act=4', lat: 34.7466, lng: 113.6253, accuracy: expect.any(Number) })
  expect(att.header['Idempotency-Key']).toBeTruthy()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '签到成功 +10 积分' }))
})

test('withdraw sends DELETE; a refusal is toasted', async () => {
  const server = mockServer({
    'GET /activities/:id': () => ({ id: 4, title: '环境清洁日', status: 'published', capacity: 20, enrolled_count: 1, my_enrolment: ENROLMENT }),
    'DELETE /activities/:id/enrolments/me': () => refusal('activity.started', '活动已开始，不能取消报名', 409),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await page.instance.onWithdraw()
  expect(server.callsTo('DELETE /activities/4/enrolments/me')).toHaveLength(1)
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '活动已开始，不能取消报名' }))
})

test('not found shows the message', async () => {
  mockServer({ 'GET /activities/:id': () => refusal('activity.not_found', '活动不存在', 404) })
  const page = render(id)
  await page.instance.onLoad({ id: '404' })
  await flush()
  expect(pageText(page)).toContain('活动不存在')
})
