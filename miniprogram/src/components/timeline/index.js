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
      }))
      this.setData({ rows: rows.reverse() })
    },
  },
})
