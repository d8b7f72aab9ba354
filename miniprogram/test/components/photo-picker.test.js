const { load, render, flush } = require('../helpers')

const id = load('components/photo-picker/index')

test('camera/album → compressed → change event with the new list', async () => {
  const comp = render(id, { photos: [{ path: 'wxfile://old.jpg', uploadId: 'up-1' }], max: 6 })
  const onChange = jest.fn()
  comp.addEventListener('change', (e) => onChange(e.detail))
  comp.querySelector('.add').dispatchEvent('tap')
  await flush(20)
  expect(wx.chooseMedia.mock.calls[0][0]).toMatchObject({ count: 5, sourceType: ['camera', 'album'] })
  expect(wx.compressImage.mock.calls[0][0].src).toBe('wxfile://tmp/photo1.jpg')
  // saved out of the temp folder (WeChat may delete temp files while a draft waits)
  const fsm = wx.getFileSystemManager()
  expect(fsm.saveFile.mock.calls[0][0].tempFilePath).toBe('wxfile://tmp/photo1.jpg.compressed.jpg')
  const { photos } = onChange.mock.calls[0][0]
  expect(photos[0]).toEqual({ path: 'wxfile://old.jpg', uploadId: 'up-1' })
  expect(photos[1].path).toMatch(/^wxfile:\/\/usr\/report-photos\/.+\.jpg$/)
  expect(photos[1].uploadId).toBeNull()
  expect(fsm.__files.has(photos[1].path)).toBe(true)
})

test('saving fails (storage full): the temp photo is kept rather than lost', async () => {
  wx.getFileSystemManager().saveFile = jest.fn((o) => o.fail({ errMsg: 'saveFile:fail the maximum size of the file storage limit is exceeded' }))
  const comp = render(id, { photos: [], max: 6 })
  const onChange = jest.fn()
  comp.addEventListener('change', (e) => onChange(e.detail))
  comp.querySelector('.add').dispatchEvent('tap')
  await flush(20)
  expect(onChange.mock.calls[0][0].photos).toEqual([{ path: 'wxfile://tmp/photo1.jpg.compressed.jpg', uploadId: null }])
})

test('removing a saved photo deletes its file; a temp path is left to WeChat', async () => {
  const fsm = wx.getFileSystemManager()
  fsm.__files.add('wxfile://usr/report-photos/a.jpg')
  const comp = render(id, { photos: [{ path: 'wxfile://usr/report-photos/a.jpg', uploadId: null }, { path: 'wxfile://tmp/b.jpg', uploadId: null }], max: 6 })
  await flush()
  comp.querySelectorAll('.remove')[1].dispatchEvent('tap')
  comp.querySelectorAll('.remove')[0].dispatchEvent('tap')
  await flush()
  expect(fsm.unlinkSync.mock.calls.map((c) => c[0])).toEqual(['wxfile://usr/report-photos/a.jpg'])
  expect(fsm.__files.size).toBe(0)
})

test('remove drops a photo; full list hides the add button', async () => {
  const photos = Array.from({ length: 2 }, (_, i) => ({ path: `wxfile://${i}.jpg`, uploadId: null }))
  const comp = render(id, { photos, max: 2 })
  await flush()
  expect(comp.querySelector('.add')).toBeUndefined()
  const onChange = jest.fn()
  comp.addEventListener('change', (e) => onChange(e.detail))
  comp.querySelectorAll('.remove')[0].dispatchEvent('tap')
  await flush()
  expect(onChange.mock.calls[0][0].photos).toEqual([{ path: 'wxfile://1.jpg', uploadId: null }])
})

test('disabled (the report is being sent): no add, no remove, no file deleted', async () => {
  const fsm = wx.getFileSystemManager()
  fsm.__files.add('wxfile://usr/report-photos/a.jpg')
  const comp = render(id, { photos: [{ path: 'wxfile://usr/report-photos/a.jpg', uploadId: null }], max: 6, disabled: true })
  await flush()
  expect(comp.querySelector('.add')).toBeUndefined()
  expect(comp.querySelectorAll('.remove')).toHaveLength(0)
  const onChange = jest.fn()
  comp.addEventListener('change', (e) => onChange(e.detail))
  comp.instance.onRemove({ currentTarget: { dataset: { index: 0 } } })
  await comp.instance.onAdd()
  expect(onChange).not.toHaveBeenCalled()
  expect(fsm.unlinkSync).not.toHaveBeenCalled()
  expect(fsm.__files.has('wxfile://usr/report-photos/a.jpg')).toBe(true)
})

test('sending starts while the camera is open: the new photo is not added (its file is removed)', async () => {
  const comp = render(id, { photos: [], max: 6 })
  const onChange = jest.fn()
  comp.addEventListener('change', (e) => onChange(e.detail))
  let pick
  wx.chooseMedia = jest.fn((o) => {
    pick = () => o.success({ tempFiles: [{ tempFilePath: 'wxfile://tmp/photo2.jpg' }] })
  })
  const adding = comp.instance.onAdd()
  comp.setData({ disabled: true })
  pick()
  await adding
  expect(onChange).not.toHaveBeenCalled()
  expect(wx.getFileSystemManager().__files.size).toBe(0)
})
