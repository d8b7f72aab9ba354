Component({
  properties: {
    balance: { type: Number, value: 0 },
    earnedThisMonth: { type: Number, value: 0 },
    lifetimeEarned: { type: Number, value: 0 },
  },
  methods: {
    onRedeem() {
      this.triggerEvent('redeem')
    },
  },
})
