const { load, render, flush, text } = require('../helpers')

const id = load('components/empty-state/index')

test('text and optional action', async () => {
  const comp = render(id, { text: '还没有上报过问题', actionText: '去上报' })
  await flush()
  expect(text(comp, '.empty-text')).toBe('还没有上报过问题')
  const onAction = jest.fn()
  comp.addEventListener('action', (e) => onAction(e.detail))
  comp.querySelector('.empty-action').dispatchEvent('tap')
  await flush()
  expect(onAction).toHaveBeenCalled()
  const bare = render(id, { text: '空' })
  await flush()
  expect(bare.querySelector('.empty-action')).toBeUndefined()
})
