const { mockServer, refusal, load, render, flush, pageText, all, loggedIn } = require('../helpers')

const id = load('packages/profile/register/index')
beforeEach(() => loggedIn())

const routes = (extra) => ({
  'GET /me': () => ({ id: 1, role: 'rider', citizen_role: 'rider', platform: null, display_name: '', phone: null, community_id: null }),
  'GET /org-units': (req) =>
    req.query.level === 'street'
      ? { items: [{ id: 10, code: 'JS', name: '经三路街道', level: 'street', parent_id: 1 }], total: 1, page: 1, page_size: 100 }
      : { items: [{ id: 21, code: 'JS-01', name: '金水社区', level: 'community', parent_id: Number(req.query.parent_id) }], total: 1, page: 1, page_size: 100 },
  ...extra,
})

test('street → community → platform → PATCH /me; phone bound via getPhoneNumber', async () => {
  const server = mockServer(routes({
    'PATCH /me': (req) => ({ id: 1, ...req.data }),
    'POST /me/phone': () => ({ phone: '138****8000' }),
  }))
  const page = render(id)
  await page.instance.onLoad()
  await flush()
  expect(server.callsTo('GET /org-units')[0].query).toMatchObject({ level: 'street' })
  await page.instance.onStreetChange({ detail: { value: '0' } })
  expect(server.callsTo('GET /org-units')[1].query).toMatchObject({ level: 'community', parent_id: '10' })
  page.instance.onCommunityChange({ detail: { value: '0' } })
  await flush()
  expect(pageText(page)).toContain('金水社区')
  all(page, '.platform')[1].dispatchEvent('tap') // 饿了么
  page.instance.onNameInput({ detail: { value: '王师傅' } })
  await page.instance.onGetPhone({ detail: { code: 'phone-code' } })
  await flush()
  expect(server.callsTo('POST /me/phone')[0].data).toEqual({ code: 'phone-code' })
  expect(pageText(page)).toContain('138****8000')
  await page.instance.onSubmit()
  expect(server.callsTo('PATCH /me')[0].data).toEqual({ role: 'rider', community_id: 21, platform: 'eleme', display_name: '王师傅' })
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('missing community is refused locally; server refusal is shown', async () => {
  const server = mockServer(routes({ 'PATCH /me': () => refusal('me.community_invalid', '该社区暂未开通', 400) }))
  const page = render(id)
  await page.instance.onLoad()
  await page.instance.onSubmit()
  await flush()
  expect(pageText(page)).toContain('请选择所在街道和社区')
  await page.instance.onStreetChange({ detail: { value: 0 } })
  page.instance.onCommunityChange({ detail: { value: 0 } })
  page.instance.onRole({ currentTarget: { dataset: { code: 'resident' } } })
  await page.instance.onSubmit()
  await flush()
  expect(server.callsTo('PATCH /me')[0].data).toEqual({ role: 'resident', community_id: 21 })
  expect(pageText(page)).toContain('该社区暂未开通')
})
