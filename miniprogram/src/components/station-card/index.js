const { formatDistance } = require('../../utils/format')
const { serviceNames, kindName } = require('../../services/stations')

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
        kind: s.kind_name || kindName(s.kind),
        serviceNames: serviceNames(s),
      })
    },
  },
  methods: {
    onTap() {
      this.triggerEvent('select', { id: this.data.station.id })
    },
  },
})
