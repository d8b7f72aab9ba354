// Report a clue. Every change is saved to the draft at once (survives a closed app);
// submitting goes through drafts.js (photos first, one Idempotency-Key per draft).
const drafts = require('../../services/drafts')
const reports = require('../../services/reports')
const { NetworkError } = require('../../services/request')
const { askSubscribe, prefetch } = require('../../services/subscribe')
const { getLocation, chooseLocation } = require('../../utils/location')
const { errorMessage, toast, toastError } = require('../../utils/ui')

Page({
  data: {
    draft: null,
    categories: [],
    categoriesError: '',
    pendingCount: 0,
    submitting: false,
    formError: '',
    nearby: [], // open reports of this category close by (shown before submit, with +1)
    plusOned: {}, // report id → true once +1'd
    submitted: null, // {id, duplicates: [...]} — the server's possible_duplicates
  },

  onLoad() {
    this.showDraft(drafts.getCurrentDraft())
    this.loadCategories()
    prefetch()
    if (!this.data.draft.lat) this.onLocate({ quiet: true })
  },

  onShow() {
    this.setData({ pendingCount: drafts.listPending().length })
  },

  showDraft(draft) {
    this.setData({ draft, formError: '' })
  },

  save(patch) {
    const draft = drafts.updateDraft(this.data.draft.localId, patch)
    this.setData({ draft, formError: '' })
  },

  async loadCategories() {
    this.setData({ categoriesError: '' })
    try {
      const res = await reports.listCategories()
      this.setData({ categories: Array.isArray(res) ? res : res.items || [] })
    } catch (err) {
      this.setData({ categoriesError: errorMessage(err) })
    }
  },

  onSelectCategory(e) {
    this.save({ category_id: e.detail.id, category_name: e.detail.name })
    return this.checkNearby()
  },

  /** "附近已有 N 条同类问题": asked whenever category or location changes; silent on failure. */
  async checkNearby() {
    const d = this.data.draft
    if (!d || !d.category_id || d.lat === null || d.lng === null) {
      this.setData({ nearby: [] })
      return
    }
    try {
      const list = await reports.nearbyReports({ categoryId: d.category_id, lat: d.lat, lng: d.lng })
      this.setData({ nearby: Array.isArray(list) ? list : [] })
    } catch {
      this.setData({ nearby: [] })
    }
  },
  onPhotosChange(e) {
    this.save({ photos: e.detail.photos })
  },
  onDescInput(e) {
    this.save({ description: e.detail.value })
  },
  onAnonymousChange(e) {
    this.save({ anonymous: Boolean(e.detail) })
  },
  onSelfHandledChange(e) {
    this.save({ self_handled: Boolean(e.detail) })
  },

  async onLocate({ quiet = false } = {}) {
    try {
      const loc = await getLocation()
      this.save({ lat: loc.lat, lng: loc.lng, address: this.data.draft.address || '当前位置' })
      await this.checkNearby()
    } catch (err) {
      if (quiet !== true) toastError(err)
    }
  },

  async onChooseLocation() {
    try {
      const loc = await chooseLocation(this.data.draft)
      this.save(loc)
      await this.checkNearby()
    } catch {
      // cancelled
    }
  },

  validate() {
    const d = this.data.draft
    if (!d.category_id) return '请选择问题类型'
    if (!d.description.trim() && !d.photos.length) return '请描述问题或拍一张照片'
    if (d.lat === null || d.lng === null) return '请先获取或选择问题位置'
    return ''
  },

  async onSubmit() {
    const problem = this.validate()
    if (problem) {
      this.setData({ formError: problem })
      return
    }
    const { localId } = this.data.draft
    this.setData({ submitting: true, formError: '' })
    try {
      const created = await drafts.submitDraft(localId)
      this.setData({
        submitted: { id: created.report.id, duplicates: created.possible_duplicates || [] },
        nearby: [],
        pendingCount: drafts.listPending().length,
      })
      this.showDraft(drafts.getCurrentDraft())
    } catch (err) {
      if (err instanceof NetworkError) {
        // Kept in the queue; it goes out by itself when the network is back.
        wx.showToast({ title: '网络不稳定，已保存，联网后自动提交', icon: 'none', duration: 3000 })
        this.showDraft(drafts.getCurrentDraft())
        this.setData({ pendingCount: drafts.listPending().length })
      } else {
        this.showDraft(drafts.getDraft(localId) || drafts.getCurrentDraft())
        this.setData({ formError: errorMessage(err) })
      }
    } finally {
      this.setData({ submitting: false })
    }
  },

  async onRetryPending() {
    const res = await drafts.flushPending()
    this.setData({ pendingCount: drafts.listPending().length })
    if (res.submitted.length) toast(`已提交 ${res.submitted.length} 条`)
    else if (res.failed) wx.showToast({ title: '网络不稳定，请稍后重试', icon: 'none' })
  },

  async onUpvote(e) {
    const { id } = e.currentTarget.dataset
    try {
      await reports.plusOne(id)
      this.setData({ [`plusOned.${id}`]: true })
      toast('已 +1')
    } catch (err) {
      toastError(err)
    }
  },

  onSubscribe() {
    return askSubscribe('report')
  },

  onViewReport() {
    const { id } = this.data.submitted
    this.setData({ submitted: null })
    wx.navigateTo({ url: `/packages/reports/detail/index?id=${id}` })
  },

  onNewReport() {
    this.setData({ submitted: null })
  },

  onMyReports() {
    wx.navigateTo({ url: '/packages/reports/mine/index' })
  },

  onDiscard() {
    drafts.discardDraft(this.data.draft.localId)
    this.showDraft(drafts.getCurrentDraft())
  },

  onRetryCategories() {
    return this.loadCategories()
  },
})
