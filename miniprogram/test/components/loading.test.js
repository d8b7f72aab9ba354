const { load, render, flush, text } = require('../helpers')

const id = load('components/loading/index')

test('shows its text', async () => {
  const comp = render(id, { text: '正在查找附近驿站…' })
  await flush()
  expect(text(comp, '.loading-text')).toBe('正在查找附近驿站…')
})
