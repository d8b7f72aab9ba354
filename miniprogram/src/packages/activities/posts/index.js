const posts = require('../../../services/posts')
const { loadList } = require('../../../utils/list')
const { confirm, toast, toastError } = require('../../../utils/ui')

const toItem = (p) => ({
  ...p,
  claimName: p.my_claim ? posts.CLAIM_NAMES[p.my_claim.status] || '' : '',
  full: p.holder_count >= p.capacity,
})

Page({
  data: { items: [], loading: true, error: '', claimingId: null },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  load() {
    return loadList(this, (page) => posts.listPosts({ page }), { map: toItem })
  },
  async onClaim(e) {
    const { id } = e.currentTarget.dataset
    const post = this.data.items.find((p) => p.id === id)
    if (!post || !(await confirm('认领岗位', `确定认领「${post.name}」吗？`))) return
    this.setData({ claimingId: id })
    try {
      const claim = await posts.claim(id)
      const index = this.data.items.indexOf(post)
      this.setData({ [`items[${index}].my_claim`]: claim, [`items[${index}].claimName`]: posts.CLAIM_NAMES[claim.status] || '' })
      toast(claim.status === 'pending' ? '已提交，等待社区审核' : '认领成功')
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ claimingId: null })
    }
  },
  onRetry() {
    return this.load()
  },
})
