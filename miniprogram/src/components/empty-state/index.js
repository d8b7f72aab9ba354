Component({
  properties: {
    text: { type: String, value: '这里还没有内容' },
    actionText: { type: String, value: '' },
  },
  methods: {
    onAction() {
      this.triggerEvent('action')
    },
  },
})
