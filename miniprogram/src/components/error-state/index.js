Component({
  properties: {
    message: { type: String, value: '出错了，请稍后重试' },
    retryText: { type: String, value: '重试' },
    // greyed out and inert (e.g. while a 429's Retry-After runs); WeChat may still deliver
    // a tap on a disabled button, so the event is held back here too
    disabled: { type: Boolean, value: false },
  },
  methods: {
    onRetry() {
      if (this.data.disabled) return
      this.triggerEvent('retry')
    },
  },
})
