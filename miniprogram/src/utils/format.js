// Times come from the server in UTC (ISO 8601); show them in Asia/Shanghai (UTC+8).
function pad(n) {
  return n < 10 ? `0${n}` : `${n}`
}

function formatTime(iso) {
  if (!iso) return ''
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return ''
  const s = new Date(t.getTime() + 8 * 3600 * 1000)
  return `${s.getUTCFullYear()}-${pad(s.getUTCMonth() + 1)}-${pad(s.getUTCDate())} ${pad(s.getUTCHours())}:${pad(s.getUTCMinutes())}`
}

function formatDistance(m) {
  if (m === undefined || m === null) return ''
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`
}

module.exports = { formatTime, formatDistance }
