// The voucher code as a QR (drawn with plain views from qrcode-generator's module matrix)
// and in large text, so staff can scan it or type it.
const qrcode = require('qrcode-generator')

function matrix(text) {
  if (!text) return []
  try {
    const qr = qrcode(0, 'M')
    qr.addData(text)
    qr.make()
    const n = qr.getModuleCount()
    const rows = []
    for (let r = 0; r < n; r += 1) {
      const cells = []
      for (let c = 0; c < n; c += 1) cells.push({ c, d: qr.isDark(r, c) })
      rows.push({ r, cells })
    }
    return rows
  } catch {
    return [] // the text code below is still shown
  }
}

Component({
  properties: {
    code: { type: String, value: '' },
    // what the QR encodes: the server's `qr_payload` ("fc-voucher:<code>"); the code when empty
    payload: { type: String, value: '' },
    title: { type: String, value: '' },
  },
  data: { rows: [], cellRpx: 16, spaced: '' },
  observers: {
    'code, payload': function (code, payload) {
      const rows = matrix(payload || code)
      this.setData({
        rows,
        cellRpx: rows.length ? Math.floor(440 / rows.length) : 16,
        spaced: (code || '').replace(/(.{4})(?=.)/g, '$1 '),
      })
    },
  },
})
