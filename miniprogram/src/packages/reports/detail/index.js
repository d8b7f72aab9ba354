// A report and its progress. A report begun by messaging the official account is a server-side
// draft (status `draft`, no category): the reply's card opens this page, where its reporter
// picks the category (and the location if the messages gave none) and files it.
const reports = require('../../../services/reports')
const { ApiError, NetworkError } = require('../../../services/request')
const { askSubscribe, prefetch } = require('../../../services/subscribe')
const { formatTime } = require('../../../utils/format')
const { latest } = require('../../../utils/list')
const { getLocation, chooseLocation } = require('../../../utils/location')
const { errorMessage, toast, toastError } = require('../../../utils/ui')

const hasText = (s) => Boolean(s && String(s).trim())

Page({
  data: {
    id: null,
    report: null,
    statusName: '',
    time: '',
    canRate: false,
    rating: 5,
    fixed: true,
    comment: '',
    sending: false,
    loading: true,
    error: '',
    // completing a draft (its reporter only)
    isDraft: false,
    draftHasContent: false, // text or photos came with the messages
    draftHasLocation: false, // a location (or an address) came with the messages
    categories: [],
    categoriesError: '',
    categoryId: null,
    categoryName: '',
    place: null, // {lat, lng, address} chosen here when the draft has none
    extraText: '', // typed here when the draft has neither text nor photos
    submitting: false,
    formError: '',
  },

  onLoad(options) {
    this.setData({ id: options.id })
    prefetch()
    return this.load()
  },
  onPullDownRefresh() {
    return this.load()
  },

  /** (Re)load the report; once something is shown, a failed reload keeps it and says why
   * (`quiet`: says nothing, what is shown is fresh enough). */
  async load({ quiet = false } = {}) {
    this.setData({ loading: !this.data.report, error: '' })
    try {
      this.show(await reports.getReport(this.data.id))
    } catch (err) {
      if (this.data.report) {
        this.setData({ loading: false })
        if (quiet !== true) toastError(err)
      } else this.setData({ loading: false, error: errorMessage(err) })
    } finally {
      wx.stopPullDownRefresh()
    }
  },

  show(r) {
    const isDraft = r.status === 'draft' && r.viewer === 'owner'
    const wasDraft = this.data.isDraft
    this.setData({
      report: r,
      statusName: reports.statusName(r),
      categoryName: (isDraft && this.data.categoryName) || reports.categoryName(r) || '问题上报',
      time: formatTime(r.created_at),
      canRate: Boolean(r.can_give_feedback),
      loading: false,
      isDraft,
      draftHasContent: hasText(r.description) || Boolean(r.photos && r.photos.length),
      draftHasLocation: (r.lat !== null && r.lat !== undefined) || hasText(r.address),
    })
    if (isDraft && (!wasDraft || this.data.categoriesError || !this.data.categories.length)) this.loadCategories()
    if (!isDraft && wasDraft) this.setData({ categoryId: null, place: null, extraText: '', formError: '' })
  },

  /** The categories where the problem is (the draft's location or the one chosen here; else
   * the resident's community), as the report page lists them. The latest listing wins. */
  async loadCategories() {
    const isLatest = latest(this, 'categories')
    const where = this.data.place || this.data.report || {}
    const at = where.lat !== null && where.lat !== undefined ? { lat: where.lat, lng: where.lng } : {}
    this.setData({ categoriesError: '' })
    try {
      const categories = await reports.listCategories(at)
      if (!isLatest()) return
      this.setData({ categories })
      this.keepCategory(categories)
    } catch (err) {
      if (isLatest()) this.setData({ categoriesError: errorMessage(err) })
    }
  },

  /** After a relisting (another street), keep the choice if that street has it (same code). */
  keepCategory(categories) {
    const { categoryId } = this.data
    if (!categoryId || categories.some((c) => c.id === categoryId)) return
    const chosen = this.chosenCode && categories.find((c) => c.code === this.chosenCode)
    if (chosen) this.setData({ categoryId: chosen.id, categoryName: chosen.name })
    else this.setData({ categoryId: null, categoryName: '问题上报' })
  },

  onSelectCategory(e) {
    if (this.data.submitting) return
    const { id, name } = e.detail
    const category = this.data.categories.find((c) => c.id === id)
    this.chosenCode = category ? category.code : null
    this.setData({ categoryId: id, categoryName: name, formError: '' })
  },

  onExtraText(e) {
    if (!this.data.submitting) this.setData({ extraText: e.detail.value, formError: '' })
  },

  setPlace(place) {
    if (this.data.submitting) return
    this.setData({ place, formError: '' })
    this.loadCategories()
  },

  async onLocate() {
    try {
      if (this.data.submitting) return
      const loc = await getLocation()
      this.setPlace({ lat: loc.lat, lng: loc.lng, address: '' })
    } catch (err) {
      toastError(err)
    }
  },

  async onChooseLocation() {
    try {
      if (this.data.submitting) return
      this.setPlace(await chooseLocation(this.data.place))
    } catch {
      // cancelled
    }
  },

  validate() {
    const d = this.data
    if (!d.categoryId) return '请选择问题类型'
    if (!d.draftHasContent && !hasText(d.extraText)) return '请描述一下问题'
    if (!d.draftHasLocation && !d.place) return '请先获取或选择问题位置'
    return ''
  },

  /**
   * 提交: files the draft. Filed → the report as the server keeps it now; 409 report.not_draft
   * (filed already: an earlier tap whose answer was lost) → reload and say so; another refusal →
   * the server's message; a network failure or a 5xx → the form stays as it is, to try again.
   */
  async onSubmitDraft() {
    if (this.data.submitting) return
    const problem = this.validate()
    if (problem) {
      this.setData({ formError: problem })
      return
    }
    const { id, categoryId, place, draftHasContent, extraText } = this.data
    this.setData({ submitting: true, formError: '' })
    try {
      const filed = await reports.fileDraft(id, {
        categoryId,
        ...(place || {}),
        description: draftHasContent ? undefined : extraText.trim(),
      })
      this.setData({ submitting: false })
      if (filed && filed.status) this.show(filed)
      toast('已提交')
      await this.load({ quiet: Boolean(filed && filed.status) })
    } catch (err) {
      this.setData({ submitting: false })
      await this.submitFailed(err)
    }
  },

  async submitFailed(err) {
    if (err instanceof ApiError && err.code === reports.NOT_DRAFT) {
      wx.showToast({ title: err.message || '该问题已提交，无需重复提交', icon: 'none', duration: 3000 })
      await this.load()
      return
    }
    if (err instanceof ApiError && ['report.unknown_category', 'report.category_inactive'].includes(err.code)) {
      this.setData({ categoryId: null, categoryName: '问题上报' })
      this.loadCategories()
    }
    this.setData({ formError: errorMessage(err) })
    if (err instanceof NetworkError) toastError(err)
  },

  onRetryCategories() {
    return this.loadCategories()
  },

  onRate(e) {
    this.setData({ rating: e.detail })
  },
  onFixedChange(e) {
    this.setData({ fixed: Boolean(e.detail) })
  },
  onComment(e) {
    this.setData({ comment: e.detail.value })
  },

  async onSendFeedback() {
    this.setData({ sending: true })
    try {
      await reports.sendFeedback(this.data.id, { stars: this.data.rating, comment: this.data.comment, fixed: this.data.fixed })
      toast('感谢您的评价')
      await this.load()
    } catch (err) {
      toastError(err)
    } finally {
      this.setData({ sending: false })
    }
  },

  onPreview(e) {
    const urls = (this.data.report.photos || []).map((p) => p.url)
    wx.previewImage({ urls, current: e.currentTarget.dataset.url })
  },

  onSubscribe() {
    return askSubscribe('report')
  },

  onRetry() {
    return this.load()
  },
})
