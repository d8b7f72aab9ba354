// Paginated list loading shared by list pages: data keys items/page/hasMore/loading/error.
const { errorMessage, toastError } = require('./ui')

/**
 * loadList(page, fetchPage, {reset, map}) — fetchPage(n) resolves {items,total,page,page_size}.
 * A failed first page shows the error state; a failed "more" keeps what is shown and toasts.
 */
async function loadList(page, fetchPage, { reset = true, map } = {}) {
  const nextPage = reset ? 1 : (page.data.page || 1) + 1
  page.setData(reset ? { loading: !page.data.items || !page.data.items.length, error: '' } : { loadingMore: true })
  try {
    const res = (await fetchPage(nextPage)) || {}
    const raw = Array.isArray(res) ? res : res.items || []
    const items = map ? raw.map(map) : raw
    const all = reset ? items : page.data.items.concat(items)
    page.setData({
      items: all,
      page: nextPage,
      total: res.total || all.length,
      hasMore: Boolean(res.total && all.length < res.total),
      loading: false,
      loadingMore: false,
    })
    return res
  } catch (err) {
    if (reset && !(page.data.items && page.data.items.length)) {
      page.setData({ loading: false, loadingMore: false, error: errorMessage(err) })
    } else {
      page.setData({ loading: false, loadingMore: false })
      toastError(err)
    }
    return null
  } finally {
    wx.stopPullDownRefresh()
  }
}

module.exports = { loadList }
