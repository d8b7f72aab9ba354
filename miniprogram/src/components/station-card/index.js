const { formatDistance } = require('../../utils/format')
const { serviceName, kindName } = require('../../services/stations')

Component({
  properties: {
    station: { type: Object, value: {} },
  },
  data: { distance: '', kind: '', serviceNames: [] },
  observers: {
    station(s) {
      if (!s) return
      this.setData({
        distance: formatDistance(s.distance_m),
        kind: kindName(s.kind),
        serviceNames: (s.services || []).map(serviceName),
      })
    },
  },
  methods: {
    onTap() {
      this.triggerEvent('select', { id: this.data.station.id })
    },
  },
})
