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

describe('switching on a slow network', () => {
  const held = () => {
    const pending = []
    wx.request = jest.fn((opts) => {
      pending.push(opts)
      return { abort() {} }
    })
    return pending
  }
  const answer = (opts, who) =>
    opts.success({ statusCode: 200, data: { items: [{ rank: 1, display_name: who, points: 9 }], me: { rank: null, points: 0 } }, header: {} })

  test('the late answer for 本社区 is not shown under 本街道', async () => {
    const pending = held()
    const page = render(rankingId)
    page.instance.onLoad()
    await flush()
    page.instance.onScope({ currentTarget: { dataset: { code: 'street' } } })
    await flush()
    expect(pending[1].url).toContain('scope=street')
    answer(pending[1], '街道第一')
    await flush()
    answer(pending[0], '社区第一')
    await flush()
    expect(page.data.scope).toBe('street')
    expect(pageText(page)).toContain('街道第一')
    expect(pageText(page)).not.toContain('社区第一')
  })

  test('a late failure for an older period does not replace the newer board', async () => {
    const pending = held()
    const page = render(rankingId)
    page.instance.onLoad()
    await flush()
    page.instance.onPeriod({ currentTarget: { dataset: { code: 'all' } } })
    await flush()
    answer(pending[1], '总榜第一')
    await flush()
    pending[0].fail({ errMsg: 'request:fail timeout' })
    await flush()
    expect(page.data.error).toBe('')
    expect(pageText(page)).toContain('总榜第一')
  })
})
