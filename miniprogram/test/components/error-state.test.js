const { load, render, flush, text } = require('../helpers')

const id = load('components/error-state/index')

test('shows the message and emits retry', async () => {
  const comp = render(id, { message: '网络不稳定，请稍后重试' })
  await flush()
  expect(text(comp, '.error-message')).toBe('网络不稳定，请稍后重试')
  const onRetry = jest.fn()
  comp.addEventListener('retry', (e) => onRetry(e.detail))
  comp.querySelector('.error-retry').dispatchEvent('tap')
  await flush()
  expect(onRetry).toHaveBeenCalledTimes(1)
})

test('disabled: greyed out, and a tap (WeChat may still deliver one) emits nothing', async () => {
  const comp = render(id, { message: '打卡太频繁了', retryText: '重新打卡（30 秒）', disabled: true })
  await flush()
  const onRetry = jest.fn()
  comp.addEventListener('retry', onRetry)
  expect(comp.querySelector('.error-retry-disabled')).toBeDefined()
  comp.querySelector('.error-retry').dispatchEvent('tap')
  await flush()
  expect(onRetry).not.toHaveBeenCalled()

  comp.setData({ disabled: false })
  await flush()
  expect(comp.querySelector('.error-retry-disabled')).toBeUndefined()
  comp.querySelector('.error-retry').dispatchEvent('tap')
  await flush()
  expect(onRetry).toHaveBeenCalledTimes(1)
})
