-- wrk script: POST /v1/contacts for uniformly random customer ids, one request every delay_ms per
-- connection: a steady trickle of writes beside a decision load (mixed.sh).
-- usage: wrk ... -s contacts.lua URL -- [customers=1000000] [delay_ms=10]
local pause = 10
local customers = 1000000
function init(args)
  customers = tonumber(args[1] or "1000000")
  pause = tonumber(args[2] or "10")
  math.randomseed(11)
end
function request()
  local body = string.format('{"customer_id":"C%07d","channel":"email"}', math.random(1, customers))
  return wrk.format("POST", "/v1/contacts", {["Content-Type"] = "application/json"}, body)
end
function delay() return pause end
