const api = require('./request')

/** 上传一张照片（multipart POST /uploads, field file）→ {id, url} */
const uploadPhoto = (filePath) => api.uploadFile(filePath)

module.exports = { uploadPhoto }
