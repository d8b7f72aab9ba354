// 驿站码牌 on a weak network: a poster download begun before 换码 (60 s timeout) that answers
// last must not put the OLD, dead code back on screen for saving/printing; and a double tap on
// 换码 (also while the confirm dialog is open) must not rotate twice.
const { mockServer, load, render, flush, loggedIn } = require('../helpers')

const id = load('packages/staff/station-poster/index')

const ADMIN = { id: 5, role: 'community_admin', staff: { org_unit_id: 7 } }
const STATION = (rotated) => ({ id: 3, name: '经三路小哥驿站', qr_scene: 's3.x', qr_rotated_at: rotated })

/** Holds every poster download until the test answers it. */
function heldDownloads() {
  const held = []
  wx.downloadFile = jest.fn((opts) => {
    held.push(opts)
    return { abort() {}, onHeadersReceived() {} }
  })
  return held
}

beforeEach(() => {
  loggedIn(ADMIN)
})

test('a poster download begun before 换码 that answers last does not replace the new poster', async () => {
  mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'POST /admin/stations/:id/rotate-qr': () => STATION('2024-05-01T04:00:00Z'),
  })
  const held = heldDownloads()
  const page = render(id)
  page.instance.onLoad({ id: '3' })
  await flush()
  expect(held).toHaveLength(1) // the old poster is still downloading
  const rotating = page.instance.onRotate()
  await flush()
  expect(held).toHaveLength(2) // the new poster's download
  held[1].success({ statusCode: 200, tempFilePath: 'wxfile://tmp/NEW' })
  await rotating
  expect(page.data.poster).toBe('wxfile://tmp/NEW')
  held[0].success({ statusCode: 200, tempFilePath: 'wxfile://tmp/OLD-dead-code' })
  await flush()
  expect(page.data.poster).toBe('wxfile://tmp/NEW')
  expect(page.data.posterLoading).toBe(false)
})

test('the old download failing last leaves the new poster, with no error shown', async () => {
  mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'POST /admin/stations/:id/rotate-qr': () => STATION('2024-05-01T04:00:00Z'),
  })
  const held = heldDownloads()
  const page = render(id)
  page.instance.onLoad({ id: '3' })
  await flush()
  const rotating = page.instance.onRotate()
  await flush()
  held[1].success({ statusCode: 200, tempFilePath: 'wxfile://tmp/NEW' })
  await rotating
  held[0].fail({ errMsg: 'downloadFile:fail timeout' })
  await flush()
  expect(page.data.poster).toBe('wxfile://tmp/NEW')
  expect(page.data.posterError).toBe('')
  expect(page.querySelector('.poster')).toBeTruthy()
})

test('a double tap on 换码 (the second while the confirm dialog is open) rotates once', async () => {
  const server = mockServer({
    'GET /admin/stations/:id': () => STATION(null),
    'GET /admin/stations/:id/qrcode.png': () => ({ status: 200, body: 'PNG' }),
    'POST /admin/stations/:id/rotate-qr': () => STATION('2024-05-01T04:00:00Z'),
  })
  const page = render(id)
  await page.instance.onLoad({ id: '3' })
  await flush()
  const dialogs = []
  wx.showModal = jest.fn((o) => dialogs.push(o))
  const first = page.instance.onRotate()
  const second = page.instance.onRotate() // tapped again while the dialog is open
  await flush()
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  dialogs[0].success({ confirm: true })
  const third = page.instance.onRotate() // tapped again while the rotation runs
  await Promise.all([first, second, third])
  await flush()
  expect(wx.showModal).toHaveBeenCalledTimes(1)
  expect(server.callsTo('POST /admin/stations/3/rotate-qr')).toHaveLength(1)
  // once it is done, 换码 works again
  wx.showModal = jest.fn((o) => o.success({ confirm: true }))
  await page.instance.onRotate()
  await flush()
  expect(server.callsTo('POST /admin/stations/3/rotate-qr')).toHaveLength(2)
})
