const { formatTime } = require('../../utils/format')

Component({
  properties: {
    // the server's TimelineEvent [{action_name, state_name, actor_role_name, note, created_at}], oldest first
    items: { type: Array, value: [] },
  },
  data: { rows: [] },
  observers: {
    items(items) {
      const rows = (items || []).map((it, i) => ({
        key: it.id || i,
        time: formatTime(it.created_at),
        title: it.action_name || it.action || '',
        note: it.note || '',
        actor: it.actor_name || it.actor_role_name || '',
        // the photos an event carries that this viewer may see (the server leaves out the rest):
        // the result's after-photos, the evidence of a return or a hold for staff
        photos: (it.photos || []).filter((p) => p && (p.thumb_url || p.url)).map((p) => ({ id: p.id, thumb: p.thumb_url || p.url, url: p.url || p.thumb_url })),
      }))
      this.setData({ rows: rows.reverse() })
    },
  },
  methods: {
    /** Tap a thumbnail: the event's photos full size, from the one tapped. */
    onPreview(e) {
      const { row, url } = e.currentTarget.dataset
      const photos = (this.data.rows[row] && this.data.rows[row].photos) || []
      wx.previewImage({ current: url, urls: photos.map((p) => p.url) })
    },
  },
})
