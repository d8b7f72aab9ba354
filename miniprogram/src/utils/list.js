// Paginated list loading shared by list pages: data keys items/page/hasMore/loading/error.
const { errorMessage, toastError } = require('./ui')

/**
 * Latest-wins for a page's repeated loads of one thing (a weak network answers late and out
 * of order): latest(owner, name) starts a load and returns isLatest(), false as soon as a newer
 * load of that name has started, so the older answer (or failure) is dropped, not shown.
 * latest(owner, name, { start: false }) checks against the load running now without starting one.
 */
function latest(owner, name, { start = true } = {}) {
  const seqs = owner.__latest || (owner.__latest = {})
  if (start) seqs[name] = (seqs[name] || 0) + 1
  const seq = seqs[name] || 0
  return () => seqs[name] === seq
}

/**
 * Whether another page can be fetched. The server counts at most 10,000 rows (`total` is then
 * 10,000 with `total_capped`) and answers `has_more`, which also turns false where page
 * numbers stop (the first 10,000 rows); an older answer without it: what `total` says.
 */
function moreAfter(res, raw, all) {
  if (typeof res.has_more === 'boolean') return res.has_more && raw.length > 0
  return Boolean(res.total && raw.length && all.length < res.total)
}

/**
 * loadList(page, fetchPage, {reset, map}) — fetchPage(n) resolves {items,total,page,page_size}.
 * A failed first page shows the error state; a failed "more" keeps what is shown and toasts.
 * Only the latest reset may update the list (filters tapped in quick succession); one "more"
 * at a time, none while a reset runs; items already shown (offset pages shift when new ones
 * arrive) are not listed twice.
 */
async function loadList(page, fetchPage, { reset = true, map } = {}) {
  const state = page.__list || (page.__list = { more: false })
  if (!reset && (state.more || state.resetting)) return null
  const isLatest = latest(page, 'list', { start: reset })
  if (reset) state.resetting = true
  else state.more = true
  const nextPage = reset ? 1 : (page.data.page || 1) + 1
  page.setData(reset ? { loading: !page.data.items || !page.data.items.length, error: '' } : { loadingMore: true })
  try {
    const res = (await fetchPage(nextPage)) || {}
    if (!isLatest()) return null
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
      hasMore: moreAfter(res, raw, all),
      loading: false,
      loadingMore: false,
    })
    return res
  } catch (err) {
    if (!isLatest()) return null
    if (reset && !(page.data.items && page.data.items.length)) {
      page.setData({ loading: false, loadingMore: false, error: errorMessage(err) })
    } else {
      page.setData({ loading: false, loadingMore: false })
      toastError(err)
    }
    return null
  } finally {
    if (reset) {
      if (isLatest()) state.resetting = false
    } else state.more = false
    if (isLatest()) wx.stopPullDownRefresh()
  }
}

module.exports = { loadList, latest, moreAfter }
