// 问需: a difficulty, need or suggestion. A retry after a network failure reuses the key.
const needs = require('../../../services/needs')
const { newIdempotencyKey, serverDecided } = require('../../../services/request')
const { formatTime } = require('../../../utils/format')
const { latest } = require('../../../utils/list')
const { errorMessage } = require('../../../utils/ui')
const { askSubscribe, prefetch } = require('../../../services/subscribe')

const toNeed = (n) => ({
  ...n,
  kindName: n.kind_name || (needs.NEED_KINDS.find((k) => k.code === n.kind) || {}).name || '',
  answered: n.status === 'answered',
  time: formatTime(n.created_at),
  answeredTime: formatTime(n.answered_at),
})

Page({
  data: { kinds: needs.NEED_KINDS, kind: 'community_suggestion', content: '', sending: false, error: '', done: false, mine: [], mineError: '' },

  onLoad() {
    prefetch() // the template ids, ready for the tap (askSubscribe must not wait)
    return this.loadMine()
  },
  onPullDownRefresh() {
    return this.loadMine()
  },
  /** 我提交过的（含社区答复），最新在前. Latest wins: the answer of an older load (slow,
   * overtaken by the reload after sending) is dropped rather than hiding the new need. */
  async loadMine() {
    const isLatest = latest(this, 'mine')
    try {
      const res = await needs.myNeeds({ page_size: 50 })
      if (isLatest()) this.setData({ mine: ((res && res.items) || []).map(toNeed), mineError: '' })
    } catch (err) {
      if (isLatest()) this.setData({ mineError: errorMessage(err) })
    } finally {
      if (isLatest()) wx.stopPullDownRefresh()
    }
  },

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
    askSubscribe('need') // inside the tap: the answer reaches them by WeChat, not only 我的
    this.setData({ sending: true, error: '' })
    try {
      await needs.submitNeed({ kind: this.data.kind, content }, { idempotencyKey: this.key })
      this.key = null
      this.setData({ done: true, content: '' })
      this.loadMine()
    } catch (err) {
      if (serverDecided(err)) this.key = null // a 5xx or a lost answer: the need may be saved; a retry replays it
      this.setData({ error: errorMessage(err) })
    } finally {
      this.setData({ sending: false })
    }
  },

  onAgain() {
    this.setData({ done: false })
  },
})
