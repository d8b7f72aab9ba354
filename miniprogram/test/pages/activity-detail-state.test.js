// 活动详情 offers what the server would accept now: from the activity's status and the rider's
// own attendance (signed in: no withdrawal; signed out: nothing more), its signup deadline, and
// it shows a multi-day activity's end date.
const { mockServer, load, render, flush, pageText, text, loggedIn } = require('../helpers')

const id = load('packages/activities/detail/index')
beforeEach(() => loggedIn())

const ENROLLED = { id: 7, activity_id: 4, status: 'enrolled', seq: 1 }
const ACTIVITY = { id: 4, title: '环境清洁日', status: 'published', starts_at: '2030-06-06T09:00:00+08:00', ends_at: '2030-06-06T11:00:00+08:00', signup_deadline: '2030-06-06T09:00:00+08:00', capacity: 20, enrolled_count: 1 }

async function open(activity) {
  mockServer({ 'GET /activities/:id': () => activity })
  const page = render(id)
  await page.instance.onLoad({ id: '4' })
  await flush()
  return page
}

const buttons = (page) => ['.enrol', '.sign-in', '.withdraw'].filter((s) => page.querySelector(s))

test('a cancelled activity offers no sign-in and no withdrawal', async () => {
  const page = await open({ ...ACTIVITY, status: 'cancelled', cancel_reason: '暴雨', my_enrolment: ENROLLED })
  expect(buttons(page)).toEqual([])
  expect(pageText(page)).toContain('活动已取消：暴雨')
})

test('after signing out the page offers no new sign-in and no withdrawal', async () => {
  const mine = { ...ENROLLED, signed_in_at: '2026-06-06T09:00:00+08:00', signed_out_at: '2026-06-06T11:00:00+08:00', service_minutes: 120, points_awarded: 30 }
  for (const status of ['published', 'finished']) {
    const page = await open({ ...ACTIVITY, status, my_enrolment: mine })
    expect(buttons(page)).toEqual([])
    expect(pageText(page)).toContain('已签退 · +30 积分')
  }
})

test('signed in: the next scan signs out, and the place can no longer be given up', async () => {
  const page = await open({ ...ACTIVITY, my_enrolment: { ...ENROLLED, signed_in_at: '2030-06-06T08:50:00+08:00' } })
  expect(buttons(page)).toEqual(['.sign-in'])
  expect(text(page, '.sign-in')).toBe('扫码签退')
  expect(pageText(page)).toContain('已签到 08:50')
})

test('waitlisted: no sign-in (no place yet), the waitlist can be left', async () => {
  const page = await open({ ...ACTIVITY, my_enrolment: { ...ENROLLED, status: 'waitlisted', waitlist_position: 2 } })
  expect(buttons(page)).toEqual(['.withdraw'])
})

test('after the signup deadline 我要报名 is gone', async () => {
  const open_ = await open({ ...ACTIVITY, my_enrolment: null })
  expect(buttons(open_)).toEqual(['.enrol'])
  const closed = await open({ ...ACTIVITY, signup_deadline: '2020-06-05T18:00:00+08:00', my_enrolment: null })
  expect(buttons(closed)).toEqual([])
  expect(pageText(closed)).toContain('报名已截止')
})

test('a multi-day activity shows its end date; a one-day one the end time only', async () => {
  const oneDay = await open({ ...ACTIVITY, my_enrolment: null })
  expect(text(oneDay, '.time')).toBe('🕒 2030-06-06 09:00 ~ 11:00')
  const twoDays = await open({ ...ACTIVITY, ends_at: '2030-06-07T17:00:00+08:00', my_enrolment: null })
  expect(text(twoDays, '.time')).toBe('🕒 2030-06-06 09:00 ~ 2030-06-07 17:00')
})
