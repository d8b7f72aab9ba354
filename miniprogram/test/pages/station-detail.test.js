const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/station/detail/index')
const STATION = {
  id: 11, name: '经三路小哥驿站', kind: 'courier_station', address: '经三路 12 号', lat: 34.75, lng: 113.63,
  services: ['rest', 'tyre_pump'], opening_hours: '08:00-22:00', is_open_now: true,
}

beforeEach(() => loggedIn())

test('renders services and hours; 导航 opens the location', async () => {
  mockServer({ 'GET /stations/:id': (req) => ({ ...STATION, id: Number(req.params[0]) }) })
  const page = render(id)
  await page.instance.onLoad({ id: '11' })
  await flush()
  const t = pageText(page)
  expect(t).toContain('小哥驿站')
  expect(t).toContain('打气')
  expect(t).toContain('08:00-22:00')
  expect(t).toContain('营业中')
  page.querySelector('.nav-btn').dispatchEvent('tap')
  await flush()
  expect(wx.openLocation).toHaveBeenCalledWith(expect.objectContaining({ latitude: 34.75, longitude: 113.63, name: '经三路小哥驿站' }))
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '经三路小哥驿站' })
})

test('says how far the station is when the list passed its distance', async () => {
  mockServer({ 'GET /stations/:id': () => STATION })
  const page = render(id)
  await page.instance.onLoad({ id: '11', distance_m: '320' })
  await flush()
  expect(pageText(page)).toContain('距您 320 米')
  const bare = render(id)
  await bare.instance.onLoad({ id: '11' }) // from a scan or a share: no distance, no "距您"
  await flush()
  expect(pageText(bare)).not.toContain('距您')
})

test('unknown station: the server message with a retry', async () => {
  mockServer({ 'GET /stations/:id': () => refusal('station.not_found', '驿站不存在或已停用', 404) })
  const page = render(id)
  await page.instance.onLoad({ id: '999' })
  await flush()
  expect(pageText(page)).toContain('驿站不存在或已停用')
  expect(page.querySelector('.nav-btn')).toBeUndefined()
})
