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

// A refusal means the activity changed on the server (withdrawn from another phone, signed in,
// started): the page must show it as it is now, not the stale 取消报名 the rider taps again.
test('a refused withdrawal reloads the activity and shows its state now; a double tap sends one DELETE', async () => {
  let mine = ENROLMENT
  const server = mockServer({
    'GET /activities/:id': () => ({ id: 4, title: '环境清洁日', status: 'published', capacity: 20, enrolled_count: 1, my_enrolment: mine }),
    'DELETE /activities/:id/enrolments/me': () => {
      mine = { ...ENROLMENT, status: 'cancelled' } // it was already withdrawn (an earlier tap whose answer was lost)
      return refusal('enrolment.not_found', '您没有报名该活动，无需取消', 404)
    },
  })
  const answers = []
  wx.showModal = jest.fn((o) => answers.push(o))
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await flush()
  expect(page.querySelector('.withdraw')).toBeTruthy()
  page.querySelector('.withdraw').dispatchEvent('tap')
  page.querySelector('.withdraw').dispatchEvent('tap')
  await flush()
  expect(answers).toHaveLength(1) // one question
  answers[0].success({ confirm: true })
  await flush(30)
  expect(server.callsTo('DELETE /activities/4/enrolments/me')).toHaveLength(1)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '您没有报名该活动，无需取消' }))
  expect(server.callsTo('GET /activities/4')).toHaveLength(2) // reloaded after the refusal
  expect(page.querySelector('.withdraw')).toBeFalsy()
  expect(page.querySelector('.enrol')).toBeTruthy()
  expect(page.data.busy).toBe(false)
})

test('a tap while a withdrawal is in flight sends nothing more', async () => {
  let answer
  mockServer({ 'GET /activities/:id': () => ({ id: 4, title: '环境清洁日', status: 'published', capacity: 20, enrolled_count: 1, my_enrolment: ENROLMENT }) })
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await flush()
  const deletes = []
  const request = wx.request
  wx.request = jest.fn((opts) => {
    if (opts.method === 'DELETE') {
      deletes.push(opts)
      answer = () => opts.success({ statusCode: 409, data: { code: 'enrolment.already_signed_in', message: '您已签到，不能再取消报名', status: 409 }, header: {} })
      return { abort() {} }
    }
    return request(opts)
  })
  const first = page.instance.onWithdraw()
  await flush()
  page.instance.onWithdraw() // the answer has not come back yet
  await flush()
  expect(deletes).toHaveLength(1)
  answer()
  await first
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '您已签到，不能再取消报名' }))
})
