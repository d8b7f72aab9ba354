// Report a clue. Every change is saved to the draft at once (survives a closed app);
// submitting goes through drafts.js (photos first, one Idempotency-Key per draft).
const drafts = require('../../services/drafts')
const reports = require('../../services/reports')
const { NetworkError } = require('../../services/request')
const { askSubscribe, prefetch } = require('../../services/subscribe')
const { getLocation, chooseLocation } = require('../../utils/location')
const { confirm, errorMessage, toast, toastError } = require('../../utils/ui')

Page({
  data: {
    draft: null,
    categories: [],
    categoriesError: '',
    pendingCount: 0,
    returnedCount: 0, // drafts the server sent back (or set aside) while another is being edited
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
    this.refreshQueue()
  },

  refreshQueue() {
    this.setData({ pendingCount: drafts.listPending().length, returnedCount: drafts.listReturned().length })
  },

  showDraft(draft) {
    this.setData({ draft, formError: '' })
  },

  /** Save a change to the draft; ignored while it is being sent (the form is read-only then:
   * the upload loop works on the draft as it was when 提交 was tapped). */
  save(patch) {
    if (this.data.submitting) return false
    const draft = drafts.updateDraft(this.data.draft.localId, patch)
    this.setData({ draft, formError: '' })
    return true
  },

  async loadCategories() {
    this.setData({ categoriesError: '' })
    try {
      this.setData({ categories: await reports.listCategories() })
    } catch (err) {
      this.setData({ categoriesError: errorMessage(err) })
    }
  },

  onSelectCategory(e) {
    if (!this.save({ category_id: e.detail.id, category_name: e.detail.name })) return undefined
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
      if (this.data.submitting) return
      const loc = await getLocation()
      // a GPS fix has no address: an earlier one (from the map) named another place
      if (!this.save({ lat: loc.lat, lng: loc.lng, address: '' })) return
      await this.checkNearby()
    } catch (err) {
      if (quiet !== true) toastError(err)
    }
  },

  async onChooseLocation() {
    try {
      if (this.data.submitting) return
      const loc = await chooseLocation(this.data.draft)
      if (!this.save(loc)) return
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
      })
      this.showDraft(drafts.getCurrentDraft())
      this.refreshQueue()
    } catch (err) {
      const kept = drafts.getDraft(localId)
      if (!kept || err.code === drafts.DRAFT_GONE) {
        // discarded meanwhile: nothing was sent, nothing to show but a fresh draft
        this.showDraft(drafts.getCurrentDraft())
        this.refreshQueue()
      } else if (kept.status === 'pending') {
        // Kept in the queue (offline, timeout, server busy); it goes out by itself later.
        const title = err instanceof NetworkError ? '网络不稳定，已保存，联网后自动提交' : '服务繁忙，已保存，稍后自动提交'
        wx.showToast({ title, icon: 'none', duration: 3000 })
        this.showDraft(drafts.getCurrentDraft())
        this.refreshQueue()
      } else {
        this.showDraft(drafts.getDraft(localId) || drafts.getCurrentDraft())
        this.setData({ formError: errorMessage(err) })
      }
    } finally {
      this.setData({ submitting: false })
    }
  },

  async onRetryPending() {
    const res = await drafts.flushPending({ force: true })
    this.refreshQueue()
    if (res.submitted.length) toast(`已提交 ${res.submitted.length} 条`)
    else if (res.failed) {
      // Why it failed, as the server (or the network) said: still queued with its last
      // error (offline, server busy), or refused and set aside for the rider to change.
      const stuck = drafts.listPending().find((d) => d.lastError)
      toastError({ message: stuck ? stuck.lastError : '上报未通过，请点「去查看」修改后再提交' })
    }
  },

  /** Open the oldest draft the server sent back; the one being typed stays saved (and listed). */
  onOpenReturned() {
    const next = drafts.listReturned()[0]
    const draft = next && drafts.openDraft(next.localId)
    if (!draft) return
    this.setData({ draft, formError: draft.lastError || '', nearby: [] })
    this.refreshQueue()
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

  /** 清空草稿: asks first (the typed text and photos are lost); not while it is being sent. */
  async onDiscard() {
    if (this.data.submitting || this.discarding) return
    const { localId } = this.data.draft
    this.discarding = true
    try {
      if (!(await confirm('清空草稿', '填写的文字和照片都会删除，确定清空吗？'))) return
      if (this.data.submitting || this.data.draft.localId !== localId) return
      drafts.discardDraft(localId)
      this.showDraft(drafts.getCurrentDraft())
      this.setData({ nearby: [] })
    } finally {
      this.discarding = false
    }
  },

  onRetryCategories() {
    return this.loadCategories()
  },
})
