// Client helpers that follow the server's contract: codes, voucher payloads, hours, pages.
const stations = require('../../src/services/stations')
const redemptions = require('../../src/services/redemptions')
const reports = require('../../src/services/reports')
const { routeFor } = require('../../src/utils/routes')

test('station codes are the server\'s (stations.models.KINDS / SERVICES)', () => {
  expect(Object.keys(stations.KINDS)).toEqual(['courier', 'warm', 'gig', 'party', 'love_corner'])
  expect(stations.serviceName('heating_food')).toBe('热饭')
  expect(stations.serviceName('aircon')).toBe('空调')
  expect(stations.serviceNames({ services: ['water'], service_names: ['饮水（服务器）'] })).toEqual(['饮水（服务器）'])
  expect(stations.serviceNames({ services: ['water', 'wifi'] })).toEqual(['饮水', '无线网络'])
})

test('opening hours {"mon": ["08:00-22:00"]…} read as Chinese; null is 24 h', () => {
  const every = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['08:30-18:00']]))
  expect(stations.hoursText(null)).toBe('24 小时开放')
  expect(stations.hoursText(every)).toBe('每天 08:30-18:00')
  expect(stations.hoursText({ mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], sat: ['10:00-12:00', '14:00-16:00'] })).toBe(
    '周一至周三 09:00-17:00；周六 10:00-12:00、14:00-16:00',
  )
  expect(stations.hoursText({})).toBe('暂停开放')
})

test('opening hours read "X至Y" only for consecutive open days; a closed day splits the run', () => {
  const h = (days, text = '08:00-20:00') => Object.fromEntries(days.map((d) => [d, [text]]))
  // Tuesday closed: not 周一至周四
  expect(stations.hoursText(h(['mon', 'wed', 'thu']))).toBe('周一、周三、周四 08:00-20:00')
  expect(stations.hoursText(h(['mon', 'tue', 'wed', 'fri']))).toBe('周一至周三、周五 08:00-20:00')
  expect(stations.hoursText(h(['mon', 'tue', 'thu', 'fri', 'sat']))).toBe('周一、周二、周四至周六 08:00-20:00')
  expect(stations.hoursText(h(['mon', 'tue', 'wed', 'thu', 'fri', 'sat']))).toBe('周一至周六 08:00-20:00')
  // the week runs Monday to Sunday: a run does not wrap from Sunday to Monday
  expect(stations.hoursText(h(['sat', 'sun', 'mon']))).toBe('周一、周六、周日 08:00-20:00')
  expect(stations.hoursText(h(['mon', 'tue', 'wed', 'thu', 'fri', 'sun']))).toBe('周一至周五、周日 08:00-20:00')
  // days with other hours in between split a run too; equal hours share one entry
  expect(
    stations.hoursText({ ...h(['mon', 'tue', 'thu', 'fri']), wed: ['09:00-12:00'], sat: ['10:00-16:00'], sun: ['10:00-16:00'] }),
  ).toBe('周一、周二、周四、周五 08:00-20:00；周三 09:00-12:00；周六、周日 10:00-16:00')
  // an empty list is a closed day, not an open one
  expect(stations.hoursText({ ...h(['mon', 'wed']), tue: [] })).toBe('周一、周三 08:00-20:00')
})

test('a scanned voucher QR (fc-voucher:<code>) or a typed code becomes the bare code', () => {
  expect(redemptions.voucherCode('fc-voucher:ab12cd34')).toBe('AB12CD34')
  expect(redemptions.voucherCode(' FC-VOUCHER:AB12CD34 ')).toBe('AB12CD34')
  expect(redemptions.voucherCode('ab12 cd-34')).toBe('AB12CD34')
})

test('report status names prefer the server\'s status_name', () => {
  expect(reports.statusName({ status: 'received' })).toBe('待受理')
  expect(reports.statusName({ status: 'closed', status_name: '已回访' })).toBe('已回访')
  expect(reports.categoryName({ category: { name: '垃圾倾倒' } })).toBe('垃圾倾倒')
})

test('notification pages from the server open this client\'s routes', () => {
  expect(routeFor('pages/report/detail?id=7')).toEqual({ url: '/packages/reports/detail/index?id=7', tab: false })
  expect(routeFor('packages/staff/work-order?id=3')).toEqual({ url: '/packages/staff/work-order-detail/index?id=3', tab: false })
  expect(routeFor('pages/points/index')).toEqual({ url: '/pages/points/index', tab: true })
  expect(routeFor('packages/points/redemption?id=5')).toEqual({ url: '/packages/points/redemptions/index?id=5', tab: false })
  expect(routeFor('')).toBeNull()
})
