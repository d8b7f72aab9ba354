const posts = require('../../../services/posts')
const { loadList } = require('../../../utils/list')
const { confirm, toast, toastError } = require('../../../utils/ui')

Page({
  data: { items: [], loading: true, error: '', claimingId: null },
  onLoad() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  load() {
    return loadList(this, (page) => posts.listPosts({ page }))
  },
  async onClaim(e) {
    const { id } = e.currentTarget.dataset
    const post = this.data.items.find((p) => p.id === id)
    if (!post || !(await confirm('认领岗位', `确定认领「${post.name}」吗？`))) return
    this.setData({ claimingId: id })
    try {
      await posts.claim(id)
      const index = this.data.items.indexOf(post)
      this.setData({ [`items[${index}].is_claimed`]: true })
      toast('认领成功')
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
