-- wrk script: PUT /v1/customers/C0000001 … C<customers> once each (profiles with a region and a
-- time zone), shared across connections; each thread stops once the ids are used up.
-- usage: wrk -t1 -c32 -d600s -s seed_profiles.lua URL -- [customers=1000000]
local next_id, last, done_count = 0, 1000000, 0
local regions = {"US-CA", "US-NY", "US-TX", "GB-LND", "DE-BE", "JP-13"}
local zones = {"America/Los_Angeles", "America/New_York", "America/Chicago", "Europe/London", "Europe/Berlin", "Asia/Tokyo"}

function init(args) last = tonumber(args[1] or "1000000") end

function request()
  next_id = next_id + 1
  local k = ((next_id - 1) % 6) + 1
  local body = string.format('{"region":"%s","timezone":"%s","email":"user%d@example.com"}', regions[k], zones[k], next_id)
  return wrk.format("PUT", string.format("/v1/customers/C%07d", next_id), {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  done_count = done_count + 1
  if done_count >= last then wrk.thread:stop() end
end
