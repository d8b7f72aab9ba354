-- wrk script: each request takes the next line of a pre-generated file (tab-separated),
-- so users and stations come with matching tokens and signed scenes.
--   wrk ... -s bench/lines.lua URL -- <mode> <file> <offset> <threads>
-- Thread t (1-based) uses lines offset + t - 1, offset + t - 1 + threads, ... (wrapping),
-- so no two requests of a run share a line. done() prints one line "BENCH_JSON {...}".

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local out = {}
  for field in string.gmatch(line, "[^\t]+") do
    out[#out + 1] = field
  end
  return out
end

function init(args)
  mode = args[1]
  local file = args[2]
  local offset = tonumber(args[3] or "0")
  step = tonumber(args[4] or "1")
  lines = {}
  if file ~= nil and file ~= "-" then
    for line in io.lines(file) do
      lines[#lines + 1] = line
    end
  end
  index = offset + tid - 1
  used = 0
  non2xx = 0
  conflicts = 0
  sample = ""
end

local function next_fields()
  local number = (index % #lines) + 1
  local line = lines[number]
  index = index + step
  used = used + 1
  return split(line), number
end

local json_headers = { ["Content-Type"] = "application/json" }

function request()
  if mode == "hello" then
    return wrk.format("GET", "/hello")
  elseif mode == "healthz" then
    return wrk.format("GET", "/healthz")
  elseif mode == "redis" then
    return wrk.format("GET", "/redis")
  elseif mode == "ref_checkin" then
    local f = next_fields()
    return wrk.format("POST", "/checkin", json_headers,
      string.format('{"user_id": %s, "station_id": %s}', f[1], f[2]))
  elseif mode == "checkin" then
    local f, number = next_fields()
    -- as the mini-program sends every check-in (services/checkins.js): with a fresh
    -- Idempotency-Key, which its retries after a network failure reuse
    local headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. f[1],
      ["Idempotency-Key"] = string.format("bench-checkin-%09d", number),
    }
    return wrk.format("POST", "/api/v1/checkins", headers,
      string.format('{"scene": "%s", "lat": %s, "lng": %s, "accuracy": 20}', f[2], f[3], f[4]))
  elseif mode == "nearby" then
    local f = next_fields()
    return wrk.format("GET", string.format(
      "/api/v1/stations/nearby?lat=%s&lng=%s&radius_m=1000", f[3], f[4]),
      { ["Authorization"] = "Bearer " .. f[1] })
  elseif mode == "rankings" then
    local f = next_fields()
    return wrk.format("GET", "/api/v1/rankings?scope=community&period=month&top=15",
      { ["Authorization"] = "Bearer " .. f[1] })
  elseif mode == "points" then
    local f = next_fields()
    return wrk.format("GET", "/api/v1/me/points", { ["Authorization"] = "Bearer " .. f[1] })
  end
  error("unknown mode " .. tostring(mode))
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if status == 409 then
      conflicts = conflicts + 1
    end
    if sample == "" then
      sample = status .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local non, conf, maxused = 0, 0, 0
  local first = ""
  for _, thread in ipairs(threads) do
    non = non + thread:get("non2xx")
    conf = conf + thread:get("conflicts")
    local u = thread:get("used")
    if u > maxused then maxused = u end
    local s = thread:get("sample")
    if first == "" and s ~= nil then first = s end
  end
  first = string.gsub(first, '[%c"\\]', " ")
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "non2xx": %d, "conflicts": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, ' ..
    '"max_lines_per_thread": %d, "sample": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, non, conf, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status,
    maxused, first))
end
