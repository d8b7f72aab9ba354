const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/activities/service-hours/index')
beforeEach(() => loggedIn())

test('shows total and entries', async () => {
  mockServer({ 'GET /me/service-hours': () => ({ total_minutes: 750, total_hours: 12.5, activity_count: 1, years: [], items: [{ activity_id: 1, title: '助老服务', kind: 'volunteer', kind_name: '志愿服务', place: '淮北街社区', starts_at: '2024-05-01T12:00:00+08:00', signed_in_at: '2024-05-01T12:00:00+08:00', service_minutes: 120, service_hours: 2 }], total: 1, page: 1, page_size: 20 }) })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('12.5')
  expect(pageText(page)).toContain('助老服务')
  expect(pageText(page)).toContain('+2 小时')
})

test('error state', async () => {
  mockServer({ 'GET /me/service-hours': () => 'network' })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(pageText(page)).toContain('网络不稳定，请稍后重试')
})

const HOURS = { total_minutes: 120, total_hours: 2, activity_count: 1, years: [], items: [], total: 0, page: 1, page_size: 20 }

test('certificate for this year: downloaded with the token, previewed, verification code shown', async () => {
  const server = mockServer({
    'GET /me/service-hours': () => HOURS,
    'GET /me/service-hours/certificate': () => ({ status: 200, body: 'PNG', header: { 'X-Certificate-Code': 'K7P2QX9M' } }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  page.querySelector('.get-certificate').dispatchEvent('tap')
  await flush(30)
  const call = server.callsTo('GET /me/service-hours/certificate')[0]
  const year = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 4)
  expect(call.query.from).toBe(`${year}-01-01`)
  expect(call.query.to).toMatch(new RegExp(`^${year}-\\d\\d-\\d\\d$`))
  expect(call.header.Authorization).toBe('Bearer tok-1')
  expect(pageText(page)).toContain('核验码：K7P2QX9M')
  expect(page.querySelector('.certificate')).toBeTruthy()
  page.querySelector('.preview-certificate').dispatchEvent('tap')
  await flush()
  expect(wx.previewImage).toHaveBeenCalledWith({ urls: [page.data.certificate], current: page.data.certificate })
  await page.instance.onSaveCertificate()
  expect(wx.saveImageToPhotosAlbum).toHaveBeenCalledWith(expect.objectContaining({ filePath: page.data.certificate }))
})

test('a refused certificate shows the server message', async () => {
  mockServer({
    'GET /me/service-hours': () => HOURS,
    'GET /me/service-hours/certificate': () => refusal('certificate.no_hours', '该时间段内还没有服务时长记录，请调整时间范围后再试', 404),
  })
  const page = render(id)
  await page.instance.onLoad()
  await page.instance.onCertificate()
  await flush()
  expect(pageText(page)).toContain('该时间段内还没有服务时长记录，请调整时间范围后再试')
  expect(page.querySelector('.certificate')).toBeFalsy()
})

test('a double tap on 开具 issues one certificate', async () => {
  const server = mockServer({
    'GET /me/service-hours': () => HOURS,
    'GET /me/service-hours/certificate': () => ({ status: 200, body: 'PNG', header: { 'X-Certificate-Code': 'K7P2QX9M' } }),
  })
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  page.instance.onCertificate()
  page.instance.onCertificate()
  await flush(30)
  expect(server.callsTo('GET /me/service-hours/certificate')).toHaveLength(1)
  expect(pageText(page)).toContain('K7P2QX9M')
})
