// Report photos: WeChat may delete a temporary file at any time (a draft queued offline can
// outlive it), so a picked photo is saved under USER_DATA_PATH until its draft is sent or
// dropped. A photo that is gone anyway is found before upload (photoExists).

const DIR = 'report-photos'

function fileSystem() {
  try {
    return wx.getFileSystemManager()
  } catch {
    return null
  }
}

const photoDir = () => `${wx.env.USER_DATA_PATH}/${DIR}`

/** True for a file keepPhoto saved (only those are ever removed). */
const isKept = (path) => Boolean(wx.env && wx.env.USER_DATA_PATH && typeof path === 'string' && path.startsWith(`${photoDir()}/`))

/** Save a temporary photo for good; resolves its new path (the temp path if saving failed). */
function keepPhoto(tempFilePath) {
  return new Promise((resolve) => {
    const fs = fileSystem()
    if (!fs || typeof fs.saveFile !== 'function' || !wx.env || !wx.env.USER_DATA_PATH) {
      resolve(tempFilePath)
      return
    }
    try {
      fs.mkdirSync(photoDir(), true)
    } catch {
      // already there
    }
    const ext = (/\.(jpe?g|png|gif|webp|heic)$/i.exec(tempFilePath) || ['.jpg'])[0]
    const filePath = `${photoDir()}/${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}${ext}`
    fs.saveFile({
      tempFilePath,
      filePath,
      success: (res) => resolve((res && res.savedFilePath) || filePath),
      fail: () => resolve(tempFilePath), // storage full: keep the temp file rather than lose the photo
    })
  })
}

/** Delete the saved files among these paths (temp files are WeChat's). */
function removePhotos(paths) {
  const fs = fileSystem()
  if (!fs || typeof fs.unlinkSync !== 'function') return
  for (const path of paths || []) {
    if (!isKept(path)) continue
    try {
      fs.unlinkSync(path)
    } catch {
      // already gone
    }
  }
}

/** False when the file is no longer there (WeChat cleared it); true when unsure. */
function photoExists(path) {
  const fs = fileSystem()
  if (!fs || typeof fs.accessSync !== 'function') return true
  try {
    fs.accessSync(path)
    return true
  } catch {
    return false
  }
}

module.exports = { keepPhoto, removePhotos, photoExists, isKept }
