const { mockServer, refusal, load, render, flush, pageText, loggedIn } = require('../helpers')

const id = load('packages/staff/station-poster/index')

const ADMIN = { id: 5, role: 'community_admin', staff: { org_unit_id: 7 } }
// A success toast shows at most 7 汉字 (WeChat cuts the rest): longer ones take icon 'none'.
afterEach(() => {
  for (const [opts] of wx.showToast.mock.calls) if (opts.icon === undefined || opts.icon === 'success') expect([...opts.title].length).toBeLessThanOrEqual(7)
})
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
  // 9 汉字: with a success icon WeChat would show 「已换码，请重新」
  expect(wx.showToast).toHaveBeenCalledWith({ title: '已换码，请重新打印', icon: 'none' })
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

/** rotate-qr commits a new secret, then answers `answer` (lost, 5xx…); GET shows the current state. */
function rotatingServer(answer, { commits = true } = {}) {
  let rotated = null
  let secret = 'old'
  return mockServer({
    'GET /admin/stations/:id': () => ({ ...STATION(rotated), qr_scene: `s=3.${secret}` }),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: `PNG-${secret}` }),
    'POST /admin/stations/:id/rotate-qr': () => {
      if (commits) {
        secret = 'new'
        rotated = '2024-05-01T04:00:00Z'
      }
      return answer
    },
  })
}

test('换码 whose answer is lost: the old poster is dropped, the station reloaded, and the page says the rotation took effect', async () => {
  loggedIn(ADMIN)
  const server = rotatingServer('network')
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  const before = page.data.poster
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(server.callsTo('GET /admin/stations/3')).toHaveLength(2)
  expect(server.callsTo('GET /admin/stations/3/qrcode.png')).toHaveLength(2)
  expect(page.data.poster).toBeTruthy()
  expect(page.data.poster).not.toBe(before)
  expect(pageText(page)).toContain('上次换码：2024-05-01 12:00')
  expect(pageText(page)).toContain('换码已生效')
  await page.instance.onSave()
  expect(wx.saveImageToPhotosAlbum.mock.calls[0][0].filePath).toBe(page.data.poster)
})

test('换码 answered 5xx without committing: reloaded, the page says the current poster is still valid', async () => {
  loggedIn(ADMIN)
  const server = rotatingServer({ status: 502, body: { code: 'http_502', message: '服务暂时不可用，请稍后重试', status: 502 } }, { commits: false })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(server.callsTo('GET /admin/stations/3')).toHaveLength(2)
  expect(pageText(page)).toContain('换码未完成')
})

test('换码 saved but not yet known to every server (503 cache.not_announced): the new poster, and the server\'s warning that the old code may work a few minutes', async () => {
  loggedIn(ADMIN)
  const warning = '二维码已更换，但暂时未能通知所有服务器，旧码几分钟内可能仍可打卡；请稍后再更换一次（以最后一次更换的二维码为准）'
  rotatingServer({ status: 503, body: { code: 'cache.not_announced', message: warning, status: 503 } })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(page.data.notice).toBe(warning)
  expect(pageText(page)).toContain(warning)
  expect(pageText(page)).not.toContain('旧码牌已失效')
  expect(page.data.poster).toBeTruthy()
})

test('换码 lost and the reload fails too: no poster stays on screen to save', async () => {
  loggedIn(ADMIN)
  let down = false
  mockServer({
    'GET /admin/stations/:id': () => (down ? 'network' : STATION(null)),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: 'PNG' }),
    'POST /admin/stations/:id/rotate-qr': () => {
      down = true
      return 'network'
    },
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(page.data.poster).toBe('')
  expect(page.querySelector('.save')).toBeFalsy()
  expect(pageText(page)).toContain('当前码牌可能已失效')
  await page.instance.onSave()
  expect(wx.saveImageToPhotosAlbum).not.toHaveBeenCalled()
})

test('a deactivated station says so and offers no poster to save or print', async () => {
  loggedIn(ADMIN)
  const server = mockServer({
    'GET /admin/stations/:id': () => ({ ...STATION(null), is_active: false }),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: 'PNG' }),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  expect(pageText(page)).toContain('该驿站已停用，码牌暂不能打卡')
  expect(page.querySelector('.save')).toBeFalsy()
  expect(page.querySelector('.preview')).toBeFalsy()
  expect(page.querySelector('.poster')).toBeFalsy()
  expect(server.callsTo('GET /admin/stations/3/qrcode.png')).toHaveLength(0)
})
