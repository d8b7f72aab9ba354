// Paginated list loading shared by list pages: data keys items/page/hasMore/loading/error.
const { errorMessage, toastError } = require('./ui')

/**
 * loadList(page, fetchPage, {reset, map}) — fetchPage(n) resolves {items,total,page,page_size}.
 * A failed first page shows the error state; a failed "more" keeps what is shown and toasts.
 * Only the latest reset may update the list (filters tapped in quick succession); one "more"
 * at a time, none while a reset runs; items already shown (offset pages shift when new ones
 * arrive) are not listed twice.
 */
async function loadList(page, fetchPage, { reset = true, map } = {}) {
  const state = page.__list || (page.__list = { seq: 0, more: false })
  if (!reset && (state.more || state.resetting)) return null
  if (reset) {
    state.seq += 1
    state.resetting = true
  } else state.more = true
  const seq = state.seq
  const nextPage = reset ? 1 : (page.data.page || 1) + 1
  page.setData(reset ? { loading: !page.data.items || !page.data.items.length, error: '' } : { loadingMore: true })
  try {
    const res = (await fetchPage(nextPage)) || {}
    if (seq !== state.seq) return null
    const raw = Array.isArray(res) ? res : res.items || []
    const items = map ? raw.map(map) : raw
    let all = items
    if (!reset) {
      const shown = new Set(page.data.items.map((i) => i.id))
      all = page.data.items.concat(items.filter((i) => i.id === undefined || !shown.has(i.id)))
    }
    page.setData({
      items: all,
      page: nextPage,
      total: res.total || all.length,
      hasMore: Boolean(res.total && raw.length && all.length < res.total),
      loading: false,
      loadingMore: false,
    })
    return res
  } catch (err) {
    if (seq !== state.seq) return null
    if (reset && !(page.data.items && page.data.items.length)) {
      page.setData({ loading: false, loadingMore: false, error: errorMessage(err) })
    } else {
      page.setData({ loading: false, loadingMore: false })
      toastError(err)
    }
    return null
  } finally {
    if (reset) {
      if (seq === state.seq) state.resetting = false
    } else state.more = false
    if (seq === state.seq) wx.stopPullDownRefresh()
  }
}

module.exports = { loadList }
