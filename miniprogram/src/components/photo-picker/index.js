// Camera or album, compressed, then saved out of the temp folder (utils/photos); the parent
// owns the list (for drafts).
const { keepPhoto, removePhotos } = require('../../utils/photos')

function chooseMedia(count) {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({
      count,
      mediaType: ['image'],
      sourceType: ['camera', 'album'],
      sizeType: ['compressed'],
      success: (res) => resolve((res.tempFiles || []).map((f) => f.tempFilePath)),
      fail: reject,
    })
  })
}

function compress(src) {
  return new Promise((resolve) => {
    wx.compressImage({
      src,
      quality: 70,
      compressedWidth: 1280,
      success: (res) => resolve(res.tempFilePath),
      fail: () => resolve(src), // keep the original rather than lose the photo
    })
  })
}

Component({
  properties: {
    photos: { type: Array, value: [] }, // [{path, uploadId}]
    max: { type: Number, value: 6 },
    // read-only (the report is being sent): no add, no remove; preview still works
    disabled: { type: Boolean, value: false },
  },
  methods: {
    async onAdd() {
      if (this.data.disabled) return
      const left = this.data.max - this.data.photos.length
      if (left <= 0) return
      let paths
      try {
        paths = await chooseMedia(left)
      } catch {
        return // cancelled
      }
      const kept = []
      for (const p of paths) kept.push(await keepPhoto(await compress(p)))
      if (this.data.disabled) {
        removePhotos(kept) // sending began meanwhile: the list must not change under it
        return
      }
      const photos = this.data.photos.concat(kept.map((path) => ({ path, uploadId: null })))
      this.triggerEvent('change', { photos })
    },
    onRemove(e) {
      if (this.data.disabled) return
      const { index } = e.currentTarget.dataset
      const photos = this.data.photos.filter((_, i) => i !== index)
      removePhotos(this.data.photos.filter((_, i) => i === index).map((p) => p.path))
      this.triggerEvent('change', { photos })
    },
    onPreview(e) {
      const { index } = e.currentTarget.dataset
      const urls = this.data.photos.map((p) => p.path)
      wx.previewImage({ urls, current: urls[index] })
    },
  },
})
