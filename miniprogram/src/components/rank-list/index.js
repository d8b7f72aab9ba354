Component({
  properties: {
    items: { type: Array, value: [] }, // [{rank, display_name, points}]
    me: { type: Object, value: null }, // {rank, points}
  },
})
