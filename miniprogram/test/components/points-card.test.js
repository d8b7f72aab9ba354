const { load, render, flush, text } = require('../helpers')

const id = load('components/points-card/index')

test('shows the three figures and emits redeem', async () => {
  const comp = render(id, { balance: 109, earnedThisMonth: 35, lifetimeEarned: 240 })
  await flush()
  expect(text(comp, '.balance')).toBe('109')
  expect(text(comp, '.month')).toBe('35')
  expect(text(comp, '.lifetime')).toBe('240')
  const onRedeem = jest.fn()
  comp.addEventListener('redeem', (e) => onRedeem(e.detail))
  comp.querySelector('.redeem').dispatchEvent('tap')
  await flush()
  expect(onRedeem).toHaveBeenCalled()
})
