// 社区报到: street → community, platform, role, name; phone via getPhoneNumber.
const me = require('../../../services/me')
const org = require('../../../services/org')
const { errorMessage, toastError } = require('../../../utils/ui')

Page({
  data: {
    roles: [
      { code: 'rider', name: '骑手/快递员' },
      { code: 'resident', name: '居民' },
    ],
    platforms: me.PLATFORMS,
    streets: [],
    communities: [],
    streetIndex: -1,
    communityIndex: -1,
    role: 'rider',
    platform: '',
    displayName: '',
    phone: '',
    saving: false,
    formError: '',
    loading: true,
    error: '',
  },

  async onLoad() {
    this.setData({ loading: true, error: '' })
    try {
      const [user, streets] = await Promise.all([me.getMe().catch(() => null), org.listOrgUnits({ level: 'street' })])
      this.setData({ streets: streets.items || [], loading: false })
      if (user) {
        this.setData({
          role: ['rider', 'resident'].includes(user.citizen_role) ? user.citizen_role : 'rider',
          platform: user.platform || '',
          displayName: user.display_name || '',
          phone: user.phone || '', // masked by the server (138****0000)
        })
      }
    } catch (err) {
      this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  async onStreetChange(e) {
    const streetIndex = Number(e.detail.value)
    const street = this.data.streets[streetIndex]
    this.setData({ streetIndex, communities: [], communityIndex: -1, formError: '' })
    this.streetSeq = (this.streetSeq || 0) + 1
    const seq = this.streetSeq
    try {
      const res = await org.listOrgUnits({ level: 'community', parentId: street.id })
      if (seq === this.streetSeq) this.setData({ communities: res.items || [] })
    } catch (err) {
      if (seq === this.streetSeq) toastError(err)
    }
  },

  onCommunityChange(e) {
    this.setData({ communityIndex: Number(e.detail.value), formError: '' })
  },
  onRole(e) {
    this.setData({ role: e.currentTarget.dataset.code })
  },
  onPlatform(e) {
    this.setData({ platform: e.currentTarget.dataset.code })
  },
  onNameInput(e) {
    this.setData({ displayName: e.detail.value })
  },

  async onGetPhone(e) {
    const code = e.detail && e.detail.code
    if (!code) return // refused or quota exhausted: phone stays optional
    try {
      const res = await me.bindPhone(code)
      this.setData({ phone: res.phone || '' })
    } catch (err) {
      toastError(err)
    }
  },

  async onSubmit() {
    const community = this.data.communities[this.data.communityIndex]
    if (!community) {
      this.setData({ formError: '请选择所在街道和社区' })
      return
    }
    if (this.data.role === 'rider' && !this.data.platform) {
      this.setData({ formError: '请选择您所在的平台' })
      return
    }
    this.setData({ saving: true, formError: '' })
    try {
      const patch = { role: this.data.role, community_id: community.id, display_name: this.data.displayName.trim() || undefined }
      if (this.data.role === 'rider') patch.platform = this.data.platform
      await me.updateMe(patch)
      wx.showToast({ title: '报到成功', icon: 'success' })
      wx.navigateBack()
    } catch (err) {
      this.setData({ formError: errorMessage(err) })
    } finally {
      this.setData({ saving: false })
    }
  },

  onRetry() {
    return this.onLoad()
  },
})
