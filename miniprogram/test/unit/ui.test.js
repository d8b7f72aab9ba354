const { ApiError, NetworkError } = require('../../src/services/request')
const { errorMessage } = require('../../src/utils/ui')

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
