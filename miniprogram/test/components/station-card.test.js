const { load, render, flush, text } = require('../helpers')

const id = load('components/station-card/index')

test('shows name, kind, distance, open state and services; emits select with the id', async () => {
  const comp = render(id, { station: { id: 7, name: '花园路爱心角', kind: 'love_corner', distance_m: 1530, is_open_now: false, services: ['water', 'tyre_pump'] } })
  await flush()
  expect(text(comp, '.name')).toBe('花园路爱心角')
  expect(text(comp, '.kind')).toBe('爱心角')
  expect(text(comp, '.distance')).toBe('1.5 公里')
  expect(text(comp, '.open')).toBe('已打烊')
  expect(comp.querySelectorAll('.service').map((s) => s.dom.textContent)).toEqual(['饮水', '打气'])
  const onSelect = jest.fn()
  comp.addEventListener('select', (e) => onSelect(e.detail))
  comp.querySelector('.card').dispatchEvent('tap')
  await flush()
  expect(onSelect.mock.calls[0][0]).toEqual({ id: 7 })
})
