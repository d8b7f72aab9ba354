// The server's notification `page` (also the page a subscribe message opens) → this client's
// route. The server names some pages differently from where they live here; unknown pages fall
// back to the inbox. Tab pages must be opened with switchTab.
const TAB_PAGES = ['pages/home/index', 'pages/report/index', 'pages/points/index', 'pages/me/index']

const ALIASES = {
  'pages/report/detail': 'packages/reports/detail/index',
  'packages/staff/work-order': 'packages/staff/work-order-detail/index',
  'pages/activities/detail': 'packages/activities/detail/index',
  'pages/posts/index': 'packages/activities/posts/index',
  'pages/needs/detail': 'packages/activities/needs/index',
  'pages/notifications/index': 'packages/profile/notifications/index',
  'packages/points/redemption': 'packages/points/redemptions/index',
}

/** {url, tab} for a server page such as `pages/report/detail?id=7`; null when there is none. */
function routeFor(serverPage) {
  if (!serverPage) return null
  const [rawPath, query] = String(serverPage).replace(/^\/+/, '').split('?')
  const path = ALIASES[rawPath] || rawPath
  if (TAB_PAGES.includes(path)) return { url: `/${path}`, tab: true }
  return { url: `/${path}${query ? `?${query}` : ''}`, tab: false }
}

/** Open a server page in this client. */
function openServerPage(serverPage) {
  const route = routeFor(serverPage)
  if (!route) return
  if (route.tab) wx.switchTab({ url: route.url })
  else wx.navigateTo({ url: route.url })
}

module.exports = { ALIASES, routeFor, openServerPage }
