Component({
  properties: { text: { type: String, value: '加载中…' } },
})
