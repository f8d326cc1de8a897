-- bench/wrk/purchase.lua: the purchase request alone, each with its own pre-issued one-time token.
-- BENCH_DATA lines: "<user_id> <api_token> <purchase_token>", one user per line and so one purchase
-- per line (the per-user limit is 1 and a token works once). BENCH_PATH is the purchase path.
-- A thread that used up its lines stops (a quota run): bench/load.py then ends wrk.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i, ping
function init(args)
  local path = os.getenv("BENCH_PATH")
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Authorization"] = "Token " .. row[2],
      ["Content-Type"] = "application/json",
    }, '{"token":"' .. row[3] .. '","quantity":1}')
  end
  next_i = 1
  ping = wrk.format("GET", "/healthz")
end

function request()
  if verify_call() then return reqs[next_i] or ping end  -- not sent: keep this line for real
  local r = reqs[next_i]
  if r == nil then
    finish_thread()
    return ping  -- wrk sends what request() returns even after stop(): a harmless GET (answers 200)
  end
  next_i = next_i + 1
  return r
end

function response(status, headers, body)
  count_status(status)
end
