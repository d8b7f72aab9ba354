const { load, render, flush } = require('../helpers')

const id = load('components/timeline/index')

test('newest first, times in Asia/Shanghai, the latest highlighted', async () => {
  const comp = render(id, { items: [{ id: 1, at: '2024-05-01T16:30:00Z', title: '已提交' }, { id: 2, at: '2024-05-02T01:00:00Z', title: '已接单', actor: '李网格' }] })
  await flush()
  expect(comp.querySelectorAll('.title').map((n) => n.dom.textContent)).toEqual(['已接单', '已提交'])
  expect(comp.querySelectorAll('.time').map((n) => n.dom.textContent)).toEqual(['2024-05-02 09:00 · 李网格', '2024-05-02 00:30'])
  expect(comp.querySelectorAll('.latest')).toHaveLength(1)
})
