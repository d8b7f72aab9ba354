const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/fulfil/index')
beforeEach(() => loggedIn({ id: 2, role: 'grid_worker' }))
// A success toast shows at most 7 汉字: longer ones take icon 'none'.
afterEach(() => {
  for (const [opts] of wx.showToast.mock.calls) if (opts.icon === undefined || opts.icon === 'success') expect([...opts.title].length).toBeLessThanOrEqual(7)
})

const VOUCHER = (status = 'pending', extra = {}) => ({
  id: 3, code: 'AB12CD34', qr_payload: 'fc-voucher:AB12CD34', status, reward_id: 1, reward_name: '蓝牙耳机', cost: 300,
  user_id: 9, station_id: 4, expires_at: '2099-05-08T04:00:00Z', fulfilled_at: null, fulfilled_by_id: null,
  holder_name: '张**', holder_phone_tail: '1234', ...extra,
})
const FULFILLED = VOUCHER('fulfilled', { fulfilled_at: '2024-05-01T04:00:00Z', fulfilled_by_id: 2 })

/** Like the server: the same Idempotency-Key replays the first answer; another key after fulfilment is a 409. */
function serverWithReplay({ lostFirst = null } = {}) {
  let state = 'pending'
  let firstKey = null
  let n = 0
  return mockServer({
    'GET /admin/redemptions/:code': () => (state === 'pending' ? VOUCHER() : FULFILLED),
    'POST /redemptions/:code/fulfil': (req) => {
      n += 1
      const key = req.header['Idempotency-Key']
      if (state === 'fulfilled') {
        if (key === firstKey) return FULFILLED
        return refusal('redemption.already_fulfilled', '该兑换码已核销，请勿重复发放', 409)
      }
      state = 'fulfilled'
      firstKey = key
      return n === 1 && lostFirst ? lostFirst : FULFILLED
    },
  })
}

test('scan looks the voucher up, shows it, and hands over only on 确认发放', async () => {
  wx.scanCode = jest.fn((o) => o.success({ result: 'fc-voucher:ab12cd34' }))
  const server = serverWithReplay()
  const page = render(id)
  page.querySelector('.scan').dispatchEvent('tap')
  await flush(30)
  expect(wx.scanCode.mock.calls[0][0].onlyFromCamera).toBe(true)
  expect(server.callsTo('GET /admin/redemptions/AB12CD34')).toHaveLength(1)
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(0)
  const text = pageText(page)
  expect(text).toContain('蓝牙耳机')
  expect(text).toContain('积分：300')
  expect(text).toContain('兑换人：张**（手机尾号 1234）') // who to ask before handing it over
  expect(text).toContain('状态：待核销')
  expect(text).toContain('有效期至 2099-05-08 12:00')
  expect(text).not.toContain('核销成功')
  const confirmBtn = page.querySelector('.fulfil')
  expect(confirmBtn.dom.textContent).toContain('确认发放')
  confirmBtn.dispatchEvent('tap')
  await flush(30)
  const call = server.callsTo('POST /redemptions/AB12CD34/fulfil')
  expect(call).toHaveLength(1)
  expect(call[0].header['Idempotency-Key']).toBeTruthy()
  expect(pageText(page)).toContain('核销成功')
  expect(pageText(page)).toContain('蓝牙耳机')
  expect(page.querySelector('.fulfil')).toBeFalsy()
})

test('a voucher not pending shows its state and offers no 确认发放', async () => {
  const server = mockServer({ 'GET /admin/redemptions/:code': () => FULFILLED })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'ab12-cd34' } })
  await page.instance.onLookup()
  await flush()
  expect(pageText(page)).toContain('状态：已领取')
  expect(pageText(page)).toContain('该兑换码已于 2024-05-01 12:00 核销，请勿重复发放')
  expect(page.querySelector('.fulfil')).toBeFalsy()
  await page.instance.onFulfil()
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(0)
})

test('an unknown code shows the server message', async () => {
  mockServer({ 'GET /admin/redemptions/:code': () => refusal('redemption.not_found', '兑换码不存在或您无权查看', 404) })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'xx 99' } })
  await page.instance.onLookup()
  await flush()
  expect(pageText(page)).toContain('兑换码不存在或您无权查看')
  expect(page.querySelector('.fulfil')).toBeFalsy()
})

test('already fulfilled when confirming: the server message is shown, no second 确认发放', async () => {
  mockServer({
    'GET /admin/redemptions/:code': () => VOUCHER(),
    'POST /redemptions/:code/fulfil': () => refusal('redemption.already_fulfilled', '该兑换码已核销', 409),
  })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  await page.instance.onFulfil()
  await flush()
  expect(pageText(page)).toContain('该兑换码已核销')
  expect(page.querySelector('.fulfil')).toBeFalsy()
})

test('answer lost, then 确认发放 again: same key, the server replays, staff sees 核销成功', async () => {
  const server = serverWithReplay({ lostFirst: 'network' })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  await page.instance.onFulfil()
  await flush()
  expect(pageText(page)).toContain('网络不稳定')
  expect(page.querySelector('.fulfil')).toBeTruthy()
  await page.instance.onFulfil()
  await flush()
  const keys = server.callsTo('POST /redemptions/AB12CD34/fulfil').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[1]).toBe(keys[0])
  expect(pageText(page)).toContain('核销成功')
  expect(pageText(page)).not.toContain('请勿重复发放')
  expect(pageText(page)).not.toContain('网络不稳定')
})

test('a 5xx keeps the key too; a 4xx drops it', async () => {
  let answer = { status: 502, body: { code: 'http_502', message: '服务暂时不可用，请稍后重试', status: 502 } }
  const server = mockServer({
    'GET /admin/redemptions/:code': () => VOUCHER(),
    'POST /redemptions/:code/fulfil': () => answer,
  })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  await page.instance.onFulfil()
  await flush()
  await page.instance.onFulfil()
  await flush()
  answer = refusal('redemption.not_pending', '该兑换码已过期', 409)
  await page.instance.onFulfil()
  await flush()
  expect(pageText(page)).toContain('该兑换码已过期')
  await page.instance.onLookup()
  await flush()
  answer = VOUCHER('fulfilled')
  await page.instance.onFulfil()
  await flush()
  const keys = server.callsTo('POST /redemptions/AB12CD34/fulfil').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(4)
  expect(keys[1]).toBe(keys[0])
  expect(keys[2]).toBe(keys[0])
  expect(keys[3]).not.toBe(keys[0])
})

test('double tap on 确认发放 sends one request; a success clears an earlier error', async () => {
  const server = serverWithReplay()
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  page.setData({ error: '网络不稳定，请稍后重试' })
  const a = page.instance.onFulfil()
  const b = page.instance.onFulfil()
  await Promise.all([a, b])
  await flush()
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(1)
  expect(pageText(page)).toContain('核销成功')
  expect(pageText(page)).not.toContain('请勿重复发放')
  expect(pageText(page)).not.toContain('网络不稳定')
  expect(page.data.error).toBe('')
})

test('double tap on 查询 sends one lookup', async () => {
  const server = serverWithReplay()
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await Promise.all([page.instance.onLookup(), page.instance.onLookup()])
  await flush()
  expect(server.callsTo('GET /admin/redemptions/AB12CD34')).toHaveLength(1)
})

test('answer lost, then the staff member looks the code up again: their own fulfilment shows as 核销成功', async () => {
  const server = serverWithReplay({ lostFirst: 'network' })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  await page.instance.onFulfil()
  await flush()
  await page.instance.onLookup()
  await flush()
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(1)
  expect(pageText(page)).toContain('核销成功')
  expect(pageText(page)).not.toContain('请勿重复发放')
})

test('a voucher past its expiry, not yet closed by the hourly expiry job, shows 已过期 and no 确认发放', async () => {
  const past = new Date(Date.now() - 3600 * 1000).toISOString()
  // the server keeps it `pending` until points.redemptions.expire_due runs, and refuses it
  const server = mockServer({ 'GET /admin/redemptions/:code': () => VOUCHER('pending', { expires_at: past }) })
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  expect(pageText(page)).toContain('状态：已过期')
  expect(pageText(page)).not.toContain('状态：待核销')
  expect(pageText(page)).toContain('该兑换码已过期，不能发放')
  expect(page.querySelector('.fulfil')).toBeFalsy()
  await page.instance.onFulfil()
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(0)
})

test('my own voucher is not offered for 确认发放 (the server refuses: redemption.self_fulfil), and the page says why', async () => {
  const server = mockServer({ 'GET /admin/redemptions/:code': () => VOUCHER('pending', { user_id: 2 }) }) // the staff member is user 2
  const page = render(id)
  page.instance.onInput({ detail: { value: 'AB12CD34' } })
  await page.instance.onLookup()
  await flush()
  expect(pageText(page)).toContain('状态：待核销')
  expect(pageText(page)).toContain('这是您本人的兑换码，不能自己核销，请由其他工作人员发放')
  expect(page.querySelector('.fulfil')).toBeFalsy()
  await page.instance.onFulfil()
  expect(server.callsTo('POST /redemptions/AB12CD34/fulfil')).toHaveLength(0)
})
