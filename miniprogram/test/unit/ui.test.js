const { ApiError, NetworkError } = require('../../src/services/request')
const { errorMessage, toastError, displayWidth } = require('../../src/utils/ui')

const invalid = (errors) =>
  new ApiError({ code: 'validation_error', message: '提交的内容有误，请按提示修改', status: 422, details: { errors } })

test('a 422 with per-field hints shows the first hint after the message', () => {
  expect(errorMessage(invalid({ json: { scene: ['长度应在 1 到 128 之间'] } }))).toBe('提交的内容有误，请按提示修改：长度应在 1 到 128 之间')
  expect(errorMessage(invalid({ query: { page_size: ['必须在 1 到 100 之间'] } }))).toBe('提交的内容有误，请按提示修改：必须在 1 到 100 之间')
  // nested (list items) hints too
  expect(errorMessage(invalid({ json: { photos: { 0: ['无效的图片'] } } }))).toBe('提交的内容有误，请按提示修改：无效的图片')
})

test('other errors keep their message as is', () => {
  expect(errorMessage(invalid({}))).toBe('提交的内容有误，请按提示修改')
  expect(errorMessage(new ApiError({ code: 'report.content_rejected', message: '描述包含不适宜内容，请修改后再提交', status: 422 }))).toBe('描述包含不适宜内容，请修改后再提交')
  expect(
    errorMessage(new ApiError({ code: 'redemption.already_fulfilled', message: '该兑换码已核销', status: 409, details: { errors: { json: { x: ['y'] } } } })),
  ).toBe('该兑换码已核销')
  expect(errorMessage(new NetworkError('request:fail timeout'))).toBe('网络不稳定，请稍后重试')
  expect(errorMessage(null)).toBe('出错了，请稍后重试')
})

test('a message that fits in a toast is a toast; a longer one a dialog that keeps all of it', () => {
  toastError(new ApiError({ code: 'checkin.already_today', message: '今日已在此打卡，本次不再加分', status: 409 }))
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '今日已在此打卡，本次不再加分', icon: 'none' }))
  expect(wx.showModal).not.toHaveBeenCalled()

  const long = '距上次打卡仅 4 分钟却相距 3.9 公里，位置异常，请稍后在驿站现场重新扫码'
  toastError(new ApiError({ code: 'checkin.impossible_travel', message: long, status: 400 }))
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: long, showCancel: false }))
  expect(wx.showToast).toHaveBeenCalledTimes(1)
})

test('display width counts 汉字 and full-width marks as one, ASCII as half', () => {
  expect(displayWidth('今日已在此打卡')).toBe(7)
  expect(displayWidth('距离 3.9 km')).toBe(2 + 3.5)
  expect(displayWidth('，。！')).toBe(3)
  expect(displayWidth('请稍后…🙂')).toBe(5)
})
