const qrcode = require('qrcode-generator')
const { load, render, flush, text } = require('../helpers')

const id = load('components/voucher-qr/index')

test('draws the QR modules of the code and shows the code large', async () => {
  const comp = render(id, { code: 'AB12CD34', title: '蓝牙耳机' })
  await flush()
  const qr = qrcode(0, 'M')
  qr.addData('AB12CD34')
  qr.make()
  const n = qr.getModuleCount()
  expect(comp.querySelectorAll('.qr-row')).toHaveLength(n)
  let dark = 0
  for (let r = 0; r < n; r += 1) for (let c = 0; c < n; c += 1) if (qr.isDark(r, c)) dark += 1
  expect(comp.querySelectorAll('.dark')).toHaveLength(dark)
  expect(text(comp, '.code')).toBe('AB12 CD34')
})

test('no code → no QR drawn', async () => {
  const comp = render(id, { code: '' })
  await flush()
  expect(comp.querySelectorAll('.qr-row')).toHaveLength(0)
})
