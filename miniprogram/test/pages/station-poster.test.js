const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/station-poster/index')

const ADMIN = { id: 5, role: 'community_admin', staff: { org_unit_id: 7 } }
const STATION = (rotated) => ({ id: 3, name: '经三路小哥驿站', address: '经三路 12 号', qr_scene: 's=3', qr_rotated_at: rotated })

test('downloads the poster with the token, previews and saves it', async () => {
  loggedIn({ id: 2, role: 'grid_worker' })
  const server = mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: 'PNG', header: { 'Content-Type': 'image/png' } }),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  const call = server.callsTo('GET /admin/stations/3/qrcode.png')[0]
  expect(call.query).toEqual({ variant: 'poster' })
  expect(call.header.Authorization).toBe('Bearer tok-1')
  expect(pageText(page)).toContain('经三路小哥驿站')
  const image = page.querySelector('.poster')
  expect(image).toBeTruthy()
  expect(page.data.poster).toMatch(/^wxfile:\/\/tmp\//)
  expect(page.querySelector('.rotate')).toBeFalsy() // grid workers cannot rotate
  page.querySelector('.preview').dispatchEvent('tap')
  await flush()
  expect(wx.previewImage).toHaveBeenCalledWith({ urls: [page.data.poster], current: page.data.poster })
  await page.instance.onSave()
  expect(wx.saveImageToPhotosAlbum).toHaveBeenCalledWith(expect.objectContaining({ filePath: page.data.poster }))
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '已保存到相册' }))
})

test('换码 asks first (printed codes stop working), then downloads the new poster', async () => {
  loggedIn(ADMIN)
  const server = mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: 'PNG' }),
    'POST /admin/stations/:id/rotate-qr': () => STATION('2024-05-01T04:00:00Z'),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  wx.showModal = jest.fn((o) => o.success({ confirm: false }))
  await page.instance.onRotate()
  expect(wx.showModal.mock.calls[0][0].content).toContain('之前打印张贴的码牌全部失效')
  expect(server.callsTo('POST /admin/stations/3/rotate-qr')).toHaveLength(0)
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(server.callsTo('POST /admin/stations/3/rotate-qr')).toHaveLength(1)
  expect(server.callsTo('GET /admin/stations/3/qrcode.png')).toHaveLength(2)
  expect(pageText(page)).toContain('上次换码：2024-05-01 12:00')
})

test('a refused poster or rotation shows the server message', async () => {
  loggedIn(ADMIN)
  mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'GET /admin/stations/:id/qrcode.png': () => refusal('wechat.unavailable', '小程序码生成失败，请稍后重试', 503),
    'POST /admin/stations/:id/rotate-qr': () => refusal('auth.forbidden', '需要社区工作者及以上权限', 403),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  expect(pageText(page)).toContain('小程序码生成失败，请稍后重试')
  expect(page.querySelector('.save')).toBeFalsy()
  await page.instance.onRotate()
  expect(wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '需要社区工作者及以上权限' }))
})
