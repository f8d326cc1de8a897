-- bench/wrk/sale.lua: a whole sale as shoppers do it: token, then purchase with that token.
-- Run with one connection per thread (wrk -tN -cN): request() and response() of a thread then
-- strictly alternate on its one connection, so the token parsed from a response belongs to the
-- user whose purchase comes next. Users of the thread take turns (round robin), each attempt being
-- one token + one purchase; the thread stops after its share of BENCH_QUOTA purchase attempts.
-- BENCH_DATA lines: "<user_id> <api_token>". Every response is recorded (end time on
-- CLOCK_MONOTONIC, kind 1 = token / 2 = purchase, status, latency) to $BENCH_OUT/records.csv.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

rec_t, rec_k, rec_s, rec_l = {}, {}, {}, {}  -- per thread; copied by done()
local users, idx, quota, sent, phase, token, kind, t0, awaiting
local token_path, purchase_path, ping

function init(args)
  local sale = os.getenv("BENCH_SALE")
  token_path = "/api/sales/" .. sale .. "/token"
  purchase_path = "/api/sales/" .. sale .. "/purchase"
  users = my_lines(os.getenv("BENCH_DATA"))
  local total = tonumber(os.getenv("BENCH_QUOTA"))
  quota = math.floor(total / NTHREADS) + ((tid <= total % NTHREADS) and 1 or 0)
  idx, sent, phase, awaiting = 1, 0, "token", false
  ping = wrk.format("GET", "/healthz")
end

local function headers(row)
  return {["Authorization"] = "Token " .. row[2], ["Content-Type"] = "application/json"}
end

local function next_user()
  idx = idx % #users + 1
  phase = "token"
end

local function record(status)
  local t = now_us()
  local n = #rec_t + 1
  rec_t[n], rec_k[n], rec_s[n], rec_l[n] = t, kind, status, t - t0
end

function request()
  if verify_call() then return ping end  -- not sent
  if awaiting then  -- the previous request got no response (timeout, reset): count it, move on
    record(0)
    next_user()
  end
  if phase == "token" and (sent >= quota or #users == 0) then
    finish_thread()
    return ping
  end
  local row = users[idx]
  awaiting, t0 = true, now_us()
  if phase == "token" then
    kind = 1
    return wrk.format("POST", token_path, headers(row), "{}")
  end
  kind, sent = 2, sent + 1
  return wrk.format("POST", purchase_path, headers(row), '{"token":"' .. token .. '","quantity":1}')
end

function response(status, headers_, body)
  if not awaiting then return end  -- the ping after finish_thread()
  awaiting = false
  count_status(status)
  record(status)
  if kind == 1 and status == 200 then
    token = body:match('"token"%s*:%s*"([^"]+)"')
    if token then phase = "purchase" else next_user() end
  else
    next_user()
  end
end

extra_done = function(threads)
  local f = assert(io.open(OUT .. "/records.csv", "w"))
  local n = 0
  for _, th in ipairs(threads) do
    local t, k, s, l = th:get("rec_t"), th:get("rec_k"), th:get("rec_s"), th:get("rec_l")
    for i = 1, #t do
      f:write(t[i], ",", k[i], ",", s[i], ",", l[i], "\n")
    end
    n = n + #t
  end
  f:close()
  return {records = n}
end
