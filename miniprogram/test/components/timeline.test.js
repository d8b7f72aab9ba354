const { load, render, flush } = require('../helpers')

const id = load('components/timeline/index')

test('newest first, times in Asia/Shanghai, the latest highlighted', async () => {
  const comp = render(id, { items: [{ id: 1, action: 'submit', created_at: '2024-05-02T00:30:00+08:00', action_name: '提交反映', actor_role_name: '反映人' }, { id: 2, action: 'accept', created_at: '2024-05-02T09:00:00+08:00', action_name: '接单', actor_role_name: '网格员' }] })
  await flush()
  expect(comp.querySelectorAll('.title').map((n) => n.dom.textContent)).toEqual(['接单', '提交反映'])
  expect(comp.querySelectorAll('.time').map((n) => n.dom.textContent)).toEqual(['2024-05-02 09:00 · 网格员', '2024-05-02 00:30 · 反映人'])
  expect(comp.querySelectorAll('.latest')).toHaveLength(1)
})

test("an event's photos show as thumbnails; a tap opens them full size from that one", async () => {
  const resolved = {
    id: 3, action: 'resolve', action_name: '办结', created_at: '2024-05-03T10:00:00+08:00', note: '已清理',
    photos: [{ id: 7, url: 'http://api.test/m/7/full', thumb_url: 'http://api.test/m/7/thumb' }, { id: 8, url: 'http://api.test/m/8/full', thumb_url: 'http://api.test/m/8/thumb' }],
  }
  const comp = render(id, { items: [{ id: 1, action: 'submit', action_name: '提交反映', created_at: '2024-05-02T00:30:00+08:00', photos: [] }, resolved] })
  await flush()
  const thumbs = comp.querySelectorAll('.photo')
  expect(thumbs).toHaveLength(2)
  wx.previewImage = jest.fn()
  thumbs[1].dispatchEvent('tap')
  await flush()
  expect(wx.previewImage).toHaveBeenCalledWith({ current: 'http://api.test/m/8/full', urls: ['http://api.test/m/7/full', 'http://api.test/m/8/full'] })
})
