const workOrders = require('../../../services/workOrders')
const uploads = require('../../../services/uploads')
const org = require('../../../services/org')
const me = require('../../../services/me')
const { newIdempotencyKey, getCachedUser, serverDecided } = require('../../../services/request')
const { errorMessage, toast, toastError, confirm } = require('../../../utils/ui')
const { removePhotos } = require('../../../utils/photos')

// Actions this page can do from the server's `allowed_actions`: the buttons below, plus
// dispatch/reassign (a picker of staff in scope or a unit) and merge (another order's number).
const PAGE_ACTIONS = ['accept', 'start', 'resolve', 'return', 'hold', 'resume', 'reject', 'close']

const staffLabel = (s) =>
  `${s.role_name || me.ROLE_NAMES[s.role] || '工作人员'} · ${s.org_unit_name || ''}${s.is_on_duty ? ' · 在岗' : ''} · 编号 ${s.user_id}`
const PRIMARY = ['accept', 'start', 'resolve', 'resume']
// 挂起: how long until the order is expected to go on (the server resumes it by itself then,
// and its deadline moves by the time held); at most 30 days (workflow.MAX_HOLD_DAYS).
const HOLD_DAYS = [1, 3, 7, 15, 30]
const LIST = '/packages/staff/work-orders/index'
// Refusals after which the page shows the order as it is now: 409 it moved on, 403 it is no
// longer mine (reassigned), 404 it left my reach (returned up, moved to another grid).
const RELOAD_ON = [403, 404, 409]

Page({
  data: {
    id: null, order: null, report: null, title: '', overdue: false, stateName: '', actions: [], note: '', photos: [], busy: false, formError: '', loading: true, error: '',
    // dispatch / reassign / merge (community admins and above, when the server allows it)
    dispatchCode: '', dispatchName: '', targetMode: 'staff', staffOptions: [], unitOptions: [], staffIndex: -1, unitIndex: -1, targetsLoading: false, targetsError: '',
    canMerge: false, mergeInto: '',
    canHold: false, holdDays: 1, holdChoices: HOLD_DAYS,
  },

  onLoad(options) {
    this.setData({ id: options.id })
    return this.load()
  },

  onUnload() {
    // Left unsent: the form goes with the page, its saved photos too (not mid-send: the
    // upload may still read them; a later sweep takes those).
    if (!this.data.busy) removePhotos(this.data.photos.map((p) => p.path))
  },

  async load() {
    this.setData({ loading: !this.data.order, error: '' })
    try {
      await this.show(await workOrders.getWorkOrder(this.data.id))
    } catch (err) {
      // Shown before, now a 404: it left my reach (I returned it, it was moved to another
      // grid). Not a dead error page whose 重试 fails forever: back to the list.
      if (err && err.status === 404 && this.data.order) this.gone()
      else this.setData({ loading: false, error: errorMessage(err) })
    }
  },

  /** Show one order: GET's answer, or an action's (the same detail view, as it is after it). */
  async show(o) {
    const allowed = o.allowed_actions || []
    const codes = allowed.filter((code) => PAGE_ACTIONS.includes(code))
    const dispatchCode = ['dispatch', 'reassign'].find((code) => allowed.includes(code))
    const r = o.report_detail || o.report || {}
    this.setData({
      order: o,
      report: r,
      title: (r.category && r.category.name) || `工单 #${o.id}`,
      overdue: workOrders.isOverdue(o),
      stateName: o.state_name || workOrders.STATE_NAMES[o.state] || o.state,
      actions: codes.map((code) => ({ code, name: workOrders.ACTION_NAMES[code] || code, primary: PRIMARY.includes(code) })),
      dispatchCode: dispatchCode || '',
      dispatchName: dispatchCode ? workOrders.ACTION_NAMES[dispatchCode] : '',
      canMerge: allowed.includes('merge'),
      canHold: codes.includes('hold'),
      loading: false,
    })
    if (dispatchCode && !this.targetsLoaded) await this.loadTargets()
  },

  /** The order is no longer mine to see: say so and go back to the list (opened from a
   * notification there is no page to go back to: open the list instead). */
  gone() {
    if (this.left) return
    this.left = true
    this.setData({ loading: false })
    wx.showToast({ title: '该工单已不在您的管辖范围内', icon: 'none', duration: 2500 })
    wx.navigateBack({ fail: () => wx.redirectTo({ url: LIST }) })
  },

  /** Staff in my scope (on duty first) and the units below mine, for dispatch/reassign. */
  async loadTargets() {
    const user = getCachedUser() || {}
    const myUnit = user.staff || {}
    this.setData({ targetsLoading: true, targetsError: '' })
    const [staff, units] = await Promise.allSettled([
      org.listStaff(),
      myUnit.org_unit_id ? org.listOrgUnits({ parentId: myUnit.org_unit_id }) : Promise.resolve({ items: [] }),
    ])
    const staffItems = staff.status === 'fulfilled' ? (staff.value && staff.value.items) || [] : []
    const unitItems = units.status === 'fulfilled' ? (units.value && units.value.items) || [] : []
    const unitOptions = unitItems.map((u) => ({ id: u.id, label: u.name }))
    if (myUnit.org_unit_id && !unitOptions.some((u) => u.id === myUnit.org_unit_id)) {
      unitOptions.unshift({ id: myUnit.org_unit_id, label: `${myUnit.org_unit_name || '本单位'}（本级）` })
    }
    const failed = [staff, units].find((r) => r.status === 'rejected')
    this.targetsLoaded = !failed
    this.setData({
      staffOptions: staffItems
        .filter((s) => s.user_id !== user.id)
        .sort((a, b) => Number(Boolean(b.is_on_duty)) - Number(Boolean(a.is_on_duty)))
        .map((s) => ({ userId: s.user_id, label: staffLabel(s) })),
      unitOptions,
      staffIndex: -1,
      unitIndex: -1,
      targetsLoading: false,
      targetsError: failed ? errorMessage(failed.reason) : '',
    })
  },

  onTargetMode(e) {
    this.setData({ targetMode: e.currentTarget.dataset.mode, formError: '' })
  },
  onPickStaff(e) {
    this.setData({ staffIndex: Number(e.detail.value), formError: '' })
  },
  onPickUnit(e) {
    this.setData({ unitIndex: Number(e.detail.value), formError: '' })
  },

  async onDispatch() {
    const { dispatchCode: code, targetMode, staffOptions, unitOptions, staffIndex, unitIndex } = this.data
    if (!code) return
    const staff = targetMode === 'staff' ? staffOptions[staffIndex] : null
    const unit = targetMode === 'unit' ? unitOptions[unitIndex] : null
    if (!staff && !unit) {
      this.setData({ formError: targetMode === 'staff' ? '请选择派给哪位工作人员' : '请选择派往的网格' })
      return
    }
    if (code === 'reassign' && !this.data.note.trim()) {
      this.setData({ formError: '改派请填写原因' })
      return
    }
    const target = staff ? { assigneeId: staff.userId } : { unitId: unit.id }
    await this.run(code, { note: this.data.note.trim(), ...target })
  },

  onMergeInput(e) {
    this.setData({ mergeInto: e.detail.value, formError: '' })
  },
  async onMerge() {
    const intoId = Number(String(this.data.mergeInto).replace(/[^0-9]/g, ''))
    if (!intoId) {
      this.setData({ formError: '请输入要合并到的工单编号' })
      return
    }
    if (String(intoId) === String(this.data.id)) {
      this.setData({ formError: '不能合并到自己' })
      return
    }
    if (!(await confirm('合并工单', `确定把本工单合并到 #${intoId} 吗？合并后本工单结束，上报人改为关注 #${intoId}。`))) return
    await this.run('merge', { note: this.data.note.trim(), intoId })
  },

  onHoldDays(e) {
    this.setData({ holdDays: Number(e.currentTarget.dataset.days) })
  },

  /** The Idempotency-Key of an action, kept across retries whose outcome is unknown (the
   * server answers such a retry with the order and applies nothing twice); with it what the
   * retry must send again unchanged (a hold's end). */
  pendingFor(code) {
    const holdDays = code === 'hold' ? this.data.holdDays : undefined
    if (!this.pending || this.pending.code !== code || this.pending.holdDays !== holdDays) {
      const holdUntil = holdDays ? new Date(Date.now() + holdDays * 24 * 3600 * 1000).toISOString() : undefined
      this.pending = { code, key: newIdempotencyKey(), holdUntil, holdDays }
    }
    return this.pending
  },

  /** An action went through: the form is cleared and its answer (the order) shown. */
  async done(code, order) {
    this.pending = null
    this.setData({ note: '', photos: [], mergeInto: '', staffIndex: -1, unitIndex: -1 })
    toast(`${workOrders.ACTION_NAMES[code] || '操作'}成功`)
    // The answer is the order as the action left it: no reload, which is a 404 once the
    // order left my reach (退回 sends it to the unit above).
    if (order && order.id) await this.show(order)
    else await this.load()
  },

  /** POST one transition; a retry after a network failure reuses its Idempotency-Key. */
  async run(code, body) {
    if (this.running) return
    this.running = true
    const pending = this.pendingFor(code)
    this.setData({ busy: true, formError: '' })
    try {
      await this.done(code, await workOrders.transition(this.data.id, code, body, { idempotencyKey: pending.key }))
    } catch (err) {
      await this.refused(err, code)
    } finally {
      this.running = false
      this.setData({ busy: false })
    }
  },

  /**
   * A failed step of an action. `sent`: the action request itself failed (not a photo
   * upload before it). Refused by the server: a new attempt takes a new key; outcome unknown
   * (network, 5xx): the retry replays the key. A 409/403/404 means the order moved on (maybe
   * by our own lost answer) or out of my hands: show it as it is now.
   */
  async refused(err, code, { sent = true } = {}) {
    const retried = Boolean(this.pending && this.pending.retried)
    if (sent && this.pending) {
      if (serverDecided(err)) this.pending = null
      else this.pending.retried = true
    }
    if (err && RELOAD_ON.includes(err.status)) {
      await this.load()
      if (this.left) return
      if (err.status === 409 && retried && this.doneByMe(code)) {
        this.setData({ note: '', photos: [], mergeInto: '', formError: '' })
        toast(`${workOrders.ACTION_NAMES[code] || '操作'}已生效`)
        return
      }
    }
    this.setData({ formError: errorMessage(err) })
    toastError(err)
  },

  /** The reloaded order shows that `code` was done, by me: accepted with me as assignee, or
   * its latest event of that action is mine (the staff timeline has actor_id). Not "no longer
   * allowed" alone: a colleague may have done it meanwhile. */
  doneByMe(code) {
    const o = this.data.order
    const me = getCachedUser()
    if (!o || !me || (o.allowed_actions || []).includes(code)) return false
    if (code === 'accept') return Boolean(o.assignee && o.assignee.id === me.id)
    const timeline = (o.report_detail && o.report_detail.timeline) || []
    const last = timeline.filter((e) => e.action === code).pop()
    return Boolean(last && last.actor_id === me.id)
  },

  onNote(e) {
    this.setData({ note: e.detail.value, formError: '' })
  },
  onPhotosChange(e) {
    this.setData({ photos: e.detail.photos })
  },

  async onAction(e) {
    if (this.running) return
    const { code } = e.currentTarget.dataset
    if (workOrders.NEEDS_NOTE.includes(code) && !this.data.note.trim()) {
      this.setData({ formError: code === 'resolve' ? '请填写处理结果' : '请填写原因说明' })
      return
    }
    if (workOrders.NEEDS_PHOTO.includes(code) && !this.data.photos.length) {
      this.setData({ formError: '办结请至少上传一张处理后的照片' })
      return
    }
    const pending = this.pendingFor(code)
    this.running = true
    this.setData({ busy: true, formError: '' })
    let sent = false
    try {
      // Each upload is kept (by path) as soon as it is done: when some fail on a weak
      // network, the retry uploads only those, then sends the transition with all of them.
      const uploaded = this.uploaded || (this.uploaded = {})
      const photos = []
      for (const photo of this.data.photos) {
        if (!photo.uploadId && !uploaded[photo.path]) uploaded[photo.path] = (await uploads.uploadPhoto(photo.path)).id
        photos.push({ ...photo, uploadId: photo.uploadId || uploaded[photo.path] })
      }
      this.setData({ photos })
      sent = true
      const body = { note: this.data.note.trim(), photoIds: photos.map((p) => p.uploadId), holdUntil: pending.holdUntil }
      const order = await workOrders.transition(this.data.id, code, body, { idempotencyKey: pending.key })
      removePhotos(photos.map((p) => p.path)) // sent: the saved copies are no longer needed
      this.uploaded = {}
      await this.done(code, order)
    } catch (err) {
      await this.refused(err, code, { sent })
    } finally {
      this.running = false
      this.setData({ busy: false })
    }
  },

  onNavigate() {
    const r = this.data.report
    if (!r || r.lat === null || r.lat === undefined) return
    wx.openLocation({ latitude: r.lat, longitude: r.lng, name: this.data.title || '工单位置', address: r.address || '', scale: 17 })
  },

  onRetry() {
    return this.load()
  },
})
