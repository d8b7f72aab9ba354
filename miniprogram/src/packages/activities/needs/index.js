// 问需: a difficulty, need or suggestion. A retry after a network failure reuses the key.
const needs = require('../../../services/needs')
const { NetworkError, newIdempotencyKey } = require('../../../services/request')
const { errorMessage } = require('../../../utils/ui')

Page({
  data: { kinds: needs.NEED_KINDS, kind: 'community_suggestion', content: '', sending: false, error: '', done: false },

  onKind(e) {
    this.setData({ kind: e.currentTarget.dataset.code })
  },
  onInput(e) {
    this.setData({ content: e.detail.value, error: '' })
  },

  async onSubmit() {
    const content = this.data.content.trim()
    if (!content) {
      this.setData({ error: '请写下您的困难、需求或建议' })
      return
    }
    this.key = this.key || newIdempotencyKey()
    this.setData({ sending: true, error: '' })
    try {
      await needs.submitNeed({ kind: this.data.kind, content }, { idempotencyKey: this.key })
      this.key = null
      this.setData({ done: true, content: '' })
    } catch (err) {
      if (!(err instanceof NetworkError)) this.key = null
      this.setData({ error: errorMessage(err) })
    } finally {
      this.setData({ sending: false })
    }
  },

  onAgain() {
    this.setData({ done: false })
  },
})
