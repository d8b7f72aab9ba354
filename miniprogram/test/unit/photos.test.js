const { loggedIn } = require('../helpers')
const { keepPhoto, sweepPhotos, ORPHAN_AGE_MS } = require('../../src/utils/photos')
const drafts = require('../../src/services/drafts')

const DAY = 24 * 60 * 60 * 1000
let now
beforeEach(() => {
  loggedIn()
  now = 1_800_000_000_000
  jest.spyOn(Date, 'now').mockImplementation(() => now)
})
afterEach(() => {
  jest.restoreAllMocks()
  drafts.stopAutoFlush()
})

const fsm = () => wx.getFileSystemManager()

test('a sweep removes saved photos nothing holds once they are a day old, and only those', async () => {
  const held = await keepPhoto('wxfile://tmp/held.jpg')
  const orphan = await keepPhoto('wxfile://tmp/orphan.jpg')
  now += 60 * 60 * 1000
  const young = await keepPhoto('wxfile://tmp/young.jpg') // a form still open, say
  expect(ORPHAN_AGE_MS).toBe(DAY)

  now += DAY - 60 * 60 * 1000 - 1000 // the first two are a second short of a day old
  expect(sweepPhotos([held])).toBe(0)
  expect(fsm().unlinkSync).not.toHaveBeenCalled()

  now += 1000
  expect(sweepPhotos([held])).toBe(1)
  expect(fsm().unlinkSync.mock.calls.map((c) => c[0])).toEqual([orphan])
  expect([...fsm().__files].sort()).toEqual([held, young].sort())
})

test('a sweep with nothing saved yet, or a file that vanishes under it, removes nothing and does not throw', async () => {
  expect(sweepPhotos([])).toBe(0) // no directory
  const path = await keepPhoto('wxfile://tmp/a.jpg')
  now += 2 * DAY
  fsm().statSync.mockImplementationOnce(() => {
    throw new Error('statSync:fail no such file or directory')
  })
  expect(sweepPhotos([])).toBe(0)
  expect(fsm().__files.has(path)).toBe(true)
})

test('every draft keeps its photos through a sweep: editing, pending and returned alike', async () => {
  const a = await keepPhoto('wxfile://tmp/a.jpg')
  const b = await keepPhoto('wxfile://tmp/b.jpg')
  const stray = await keepPhoto('wxfile://tmp/stray.jpg')
  const editing = drafts.getCurrentDraft()
  drafts.updateDraft(editing.localId, { photos: [{ path: a, uploadId: null }] })
  const store = wx.getStorageSync(drafts.STORE_KEY)
  store.drafts.queued = { ...store.drafts[editing.localId], localId: 'queued', status: 'pending', photos: [{ path: b, uploadId: 7 }] }
  wx.setStorageSync(drafts.STORE_KEY, store)

  expect(drafts.photoPaths().sort()).toEqual([a, b].sort())
  now += 3 * DAY
  expect(sweepPhotos(drafts.photoPaths())).toBe(1)
  expect([...fsm().__files].sort()).toEqual([a, b].sort())
  expect(fsm().__files.has(stray)).toBe(false)
})

test('the app sweeps at launch, keeping what the drafts hold', async () => {
  const a = await keepPhoto('wxfile://tmp/a.jpg')
  const stray = await keepPhoto('wxfile://tmp/stray.jpg')
  const d = drafts.getCurrentDraft()
  drafts.updateDraft(d.localId, { photos: [{ path: a, uploadId: null }] })
  now += 2 * DAY
  let definition
  global.App = (def) => {
    definition = def
  }
  try {
    require('../../src/app') // once in this file: the same drafts module as above
  } finally {
    delete global.App
  }
  definition.onLaunch()
  expect(fsm().__files.has(a)).toBe(true)
  expect(fsm().__files.has(stray)).toBe(false)
})
