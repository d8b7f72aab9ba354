const { formatTime } = require('../../utils/format')

Component({
  properties: {
    // [{at, title, note, actor}] — newest last, as the server sends it
    items: { type: Array, value: [] },
  },
  data: { rows: [] },
  observers: {
    items(items) {
      const rows = (items || []).map((it, i) => ({
        key: it.id || i,
        time: formatTime(it.at || it.created_at),
        title: it.title || it.label || it.action || '',
        note: it.note || '',
        actor: it.actor || '',
      }))
      this.setData({ rows: rows.reverse() })
    },
  },
})
