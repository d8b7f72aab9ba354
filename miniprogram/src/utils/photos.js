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

// A saved photo no draft refers to is kept this long before a sweep removes it: the form
// it was picked in may still be open, or its draft not yet written.
const ORPHAN_AGE_MS = 24 * 60 * 60 * 1000

/**
 * Remove saved photos nothing refers to any more (an app killed between saving a photo and
 * writing its draft, a form left unsent): WeChat caps an app's saved files at 10 MB, past
 * which keepPhoto can only fall back to temporary files. `keep`: the paths still in use.
 * Resolves to how many were removed; never throws.
 */
function sweepPhotos(keep, { olderThanMs = ORPHAN_AGE_MS } = {}) {
  const fs = fileSystem()
  if (!fs || typeof fs.readdirSync !== 'function' || !wx.env || !wx.env.USER_DATA_PATH) return 0
  let names
  try {
    names = fs.readdirSync(photoDir())
  } catch {
    return 0 // no photo saved yet
  }
  const kept = new Set(keep || [])
  const cutoff = Date.now() - olderThanMs
  let removed = 0
  for (const name of names) {
    const path = `${photoDir()}/${name}`
    if (kept.has(path)) continue
    try {
      const stat = fs.statSync(path)
      if (stat.isDirectory && stat.isDirectory()) continue
      if (stat.lastModifiedTime * 1000 > cutoff) continue // seconds, as WeChat gives them
      fs.unlinkSync(path)
      removed += 1
    } catch {
      // gone meanwhile, or unreadable: left for the next sweep
    }
  }
  return removed
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

module.exports = { keepPhoto, removePhotos, photoExists, isKept, sweepPhotos, ORPHAN_AGE_MS }
