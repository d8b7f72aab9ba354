const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const rankingId = load('packages/points/ranking/index')

beforeEach(() => loggedIn())

describe('ranking', () => {
  test('renders top list and my rank; switching scope reloads', async () => {
    const server = mockServer({
      'GET /rankings': (req) => ({ items: [{ rank: 1, display_name: req.query.scope === 'street' ? '李师傅' : '王师傅', points: 109 }], me: { rank: 4, points: 60 } }),
    })
    const page = render(rankingId)
    await page.instance.onLoad()
    await flush()
    expect(server.callsTo('GET /rankings')[0].query).toEqual({ scope: 'community', period: 'month', top: '15' })
    expect(pageText(page)).toContain('王师傅')
    expect(pageText(page)).toContain('第 4 名')
    all(page, '.scope')[1].dispatchEvent('tap')
    await flush(20)
    expect(server.callsTo('GET /rankings')[1].query.scope).toBe('street')
    expect(pageText(page)).toContain('李师傅')
  })

  test('error state', async () => {
    mockServer({ 'GET /rankings': () => refusal('auth.not_registered', '请先完成社区报到', 403) })
    const page = render(rankingId)
    await page.instance.onLoad()
    await flush()
    expect(pageText(page)).toContain('请先完成社区报到')
  })
})
