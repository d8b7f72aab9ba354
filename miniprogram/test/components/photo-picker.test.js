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
  expect(onChange.mock.calls[0][0].photos).toEqual([
    { path: 'wxfile://old.jpg', uploadId: 'up-1' },
    { path: 'wxfile://tmp/photo1.jpg.compressed.jpg', uploadId: null },
  ])
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
