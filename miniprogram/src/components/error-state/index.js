Component({
  properties: {
    message: { type: String, value: '出错了，请稍后重试' },
    retryText: { type: String, value: '重试' },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry')
    },
  },
})
