Component({
  properties: {
    categories: { type: Array, value: [] }, // [{id, name, icon}]
    selectedId: { type: null, value: null },
  },
  methods: {
    onSelect(e) {
      const { id, name } = e.currentTarget.dataset
      this.triggerEvent('select', { id, name })
    },
  },
})
