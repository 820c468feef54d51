-- wrk script: POST /v1/decisions for uniformly random customer ids, or with BATCH > 1 the batch
-- endpoint with that many requests per call. Requests are built in init() and cycled, so the
-- per-request Lua cost is one table lookup. done() prints a machine-readable RESULT line.
-- usage: wrk ... -s decisions.lua URL -- [customers=1000000] [seed=42] [batch=1] [delay_ms=0]
local reqs, n, i = {}, 20000, 0
local pause = 0
local channels = {"email", "sms", "push"}

function init(args)
  local customers = tonumber(args[1] or "1000000")
  local seed = tonumber(args[2] or "42")
  local batch = tonumber(args[3] or "1")
  pause = tonumber(args[4] or "0")
  math.randomseed(seed)
  local headers = {["Content-Type"] = "application/json"}
  local function one()
    return string.format('{"customer_id":"C%07d","channel":"%s","categories":["grilling"]}',
      math.random(1, customers), channels[math.random(1, 3)])
  end
  if batch > 1 then n = 2000 end
  for k = 1, n do
    if batch > 1 then
      local items = {}
      for j = 1, batch do items[j] = one() end
      reqs[k] = wrk.format("POST", "/v1/decisions/batch", headers, '{"requests":[' .. table.concat(items, ",") .. ']}')
    else
      reqs[k] = wrk.format("POST", "/v1/decisions", headers, one())
    end
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function delay()
  return pause
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.0f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
