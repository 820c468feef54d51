-- wrk script: PUT /v1/customers/C0000001 … C<customers> once each (profiles with a region, a
-- time zone and an e-mail), shared across connections; past the last id it asks /healthz, and
-- the caller stops wrk once C<customers> exists.
-- usage: wrk -t1 -c64 -d900s -s seed_profiles.lua URL -- [customers=1000000]
local next_id, last = 0, 1000000
local regions = {"US-CA", "US-NY", "US-TX", "GB-LND", "DE-BE", "JP-13"}
local zones = {"America/Los_Angeles", "America/New_York", "America/Chicago", "Europe/London", "Europe/Berlin", "Asia/Tokyo"}

function init(args) last = tonumber(args[1] or "1000000") end

function request()
  if next_id >= last then return wrk.format("GET", "/healthz") end
  next_id = next_id + 1
  local k = ((next_id - 1) % 6) + 1
  local body = string.format('{"region":"%s","timezone":"%s","email":"user%d@example.com"}', regions[k], zones[k], next_id)
  return wrk.format("PUT", string.format("/v1/customers/C%07d", next_id), {["Content-Type"] = "application/json"}, body)
end
