const { load, render, flush, text } = require('../helpers')

const id = load('components/rank-list/index')

test('renders ranks in order and my rank', async () => {
  const comp = render(id, { items: [{ rank: 1, display_name: '王师傅', points: 109 }, { rank: 2, display_name: '李师傅', points: 98 }], me: { rank: null, points: 3 } })
  await flush()
  expect(comp.querySelectorAll('.who').map((n) => n.dom.textContent)).toEqual(['王师傅', '李师傅'])
  expect(comp.querySelectorAll('.top')).toHaveLength(2)
  expect(text(comp, '.me-rank')).toBe('暂未上榜')
})
