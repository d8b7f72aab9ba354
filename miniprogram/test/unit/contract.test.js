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
