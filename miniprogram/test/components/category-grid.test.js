const { load, render, flush } = require('../helpers')

const id = load('components/category-grid/index')

test('renders categories, marks the selected one, emits select', async () => {
  const comp = render(id, { categories: [{ id: 1, name: '垃圾倾倒' }, { id: 2, name: '违章停车' }], selectedId: 2 })
  await flush()
  const cells = comp.querySelectorAll('.cell')
  expect(cells.map((c) => c.dom.textContent.trim())).toEqual(['📍垃圾倾倒', '📍违章停车'])
  expect(comp.querySelectorAll('.selected')).toHaveLength(1)
  const onSelect = jest.fn()
  comp.addEventListener('select', (e) => onSelect(e.detail))
  cells[0].dispatchEvent('tap')
  await flush()
  expect(onSelect.mock.calls[0][0]).toEqual({ id: 1, name: '垃圾倾倒' })
})
