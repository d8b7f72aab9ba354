const posts = require('../../../services/posts')
const { serverDecided } = require('../../../services/request')
const { latest, loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { confirm, errorMessage, toast, toastError } = require('../../../utils/ui')

const toItem = (p) => ({
  ...p,
  claimName: p.my_claim ? posts.CLAIM_NAMES[p.my_claim.status] || '' : '',
  full: p.holder_count >= p.capacity,
})

const toClaim = (c) => ({
  ...c,
  statusName: c.status_name || posts.CLAIM_NAMES[c.status] || c.status,
  time: formatTime(c.created_at),
  pending: c.status === 'pending',
})

Page({
  data: { items: [], loading: true, error: '', claimingId: null, claims: [], claimsError: '', withdrawingId: null },
  onLoad() {
    return Promise.all([this.load(), this.loadClaims()])
  },
  onPullDownRefresh() {
    return Promise.all([this.load(), this.loadClaims()])
  },
  /** The server pages the posts (20 a page): more come with onReachBottom. */
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => posts.listPosts({ page }), { reset: false, map: toItem })
    return undefined
  },
  load() {
    return loadList(this, (page) => posts.listPosts({ page }), { map: toItem })
  },
  /** 我的认领（最新在前）：a failure here leaves the posts list usable. Latest wins: the
   * answer of an older load (slow, overtaken by the reload after a claim) is dropped. */
  async loadClaims() {
    const isLatest = latest(this, 'claims')
    try {
      const res = await posts.myClaims({ page_size: 50 })
      if (isLatest()) this.setData({ claims: ((res && res.items) || []).map(toClaim), claimsError: '' })
    } catch (err) {
      if (isLatest()) this.setData({ claimsError: errorMessage(err) })
    }
  },
  /** The server's message; after a refusal (a 4xx: post full or closed, claim already
   * decided or withdrawn) the lists are stale: show the posts and my claims as they are now. */
  async failed(err) {
    toastError(err)
    if (serverDecided(err)) await Promise.all([this.load(), this.loadClaims()])
  },
  // One action at a time, guarded from the tap on (the confirm included): a second tap while
  // the question or the request is open does nothing. The server takes no Idempotency-Key
  // for claiming or withdrawing; a repeat is refused with 409 and the page reloads.
  async onWithdraw(e) {
    const { id } = e.currentTarget.dataset
    const claim = this.data.claims.find((c) => c.id === id)
    if (!claim || this.acting) return
    this.acting = true
    this.setData({ withdrawingId: id })
    try {
      if (!(await confirm('撤回申请', `确定撤回「${claim.post_name || '岗位'}」的认领申请吗？`))) return
      await posts.withdrawClaim(id)
      toast('已撤回')
      await Promise.all([this.loadClaims(), this.load()])
    } catch (err) {
      await this.failed(err)
    } finally {
      this.acting = false
      this.setData({ withdrawingId: null })
    }
  },
  async onClaim(e) {
    const { id } = e.currentTarget.dataset
    const post = this.data.items.find((p) => p.id === id)
    if (!post || this.acting) return
    this.acting = true
    this.setData({ claimingId: id })
    try {
      if (!(await confirm('认领岗位', `确定认领「${post.name}」吗？`))) return
      const claim = await posts.claim(id)
      const index = this.data.items.findIndex((p) => p.id === id) // the list may have reloaded meanwhile
      if (index >= 0) this.setData({ [`items[${index}].my_claim`]: claim, [`items[${index}].claimName`]: posts.CLAIM_NAMES[claim.status] || '' })
      toast(claim.status === 'pending' ? '已提交，等待社区审核' : '认领成功')
      this.loadClaims()
    } catch (err) {
      await this.failed(err)
    } finally {
      this.acting = false
      this.setData({ claimingId: null })
    }
  },
  onRetry() {
    return this.load()
  },
})
