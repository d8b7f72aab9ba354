const notifications = require('../../../services/notifications')
const { loadList } = require('../../../utils/list')
const { formatTime } = require('../../../utils/format')
const { toastError } = require('../../../utils/ui')
const { openServerPage } = require('../../../utils/routes')

const toItem = (n) => ({ ...n, time: formatTime(n.created_at), unread: !n.is_read })

Page({
  data: { items: [], loading: true, error: '' },
  onShow() {
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },
  onReachBottom() {
    if (this.data.hasMore) return loadList(this, (page) => notifications.listNotifications({ page }), { reset: false, map: toItem })
    return undefined
  },
  load() {
    return loadList(this, (page) => notifications.listNotifications({ page }), { map: toItem })
  },

  async onOpen(e) {
    const index = e.currentTarget.dataset.index
    const n = this.data.items[index]
    if (n.unread) {
      this.setData({ [`items[${index}].unread`]: false })
      notifications.markRead(n.id).catch(() => {})
    }
    if (n.page) openServerPage(n.page)
  },

  async onReadAll() {
    try {
      await notifications.markAllRead()
      this.setData({ items: this.data.items.map((n) => ({ ...n, unread: false })) })
    } catch (err) {
      toastError(err)
    }
  },

  onRetry() {
    return this.load()
  },
})
