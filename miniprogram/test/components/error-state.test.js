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
