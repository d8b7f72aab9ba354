const { load, render, flush } = require('../helpers')

const id = load('components/timeline/index')

test('newest first, times in Asia/Shanghai, the latest highlighted', async () => {
  const comp = render(id, { items: [{ id: 1, action: 'submit', created_at: '2024-05-02T00:30:00+08:00', action_name: '提交反映', actor_role_name: '反映人' }, { id: 2, action: 'accept', created_at: '2024-05-02T09:00:00+08:00', action_name: '接单', actor_role_name: '网格员' }] })
  await flush()
  expect(comp.querySelectorAll('.title').map((n) => n.dom.textContent)).toEqual(['接单', '提交反映'])
  expect(comp.querySelectorAll('.time').map((n) => n.dom.textContent)).toEqual(['2024-05-02 09:00 · 网格员', '2024-05-02 00:30 · 反映人'])
  expect(comp.querySelectorAll('.latest')).toHaveLength(1)
})
