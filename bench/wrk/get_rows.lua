-- bench/wrk/get_rows.lua: GET one path per line of BENCH_DATA ("<api_token> <path>" lines, token
-- "-" for none), cycling: a polling shopper's reads (their order, the sale). With BENCH_ONCE=1
-- each thread sends each of its lines once and stops (a quota run: the cache warm-up).
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i, once, ping
function init(args)
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    local headers = {}
    if row[1] ~= "-" then headers["Authorization"] = "Token " .. row[1] end
    reqs[#reqs + 1] = wrk.format("GET", row[2], headers)
  end
  next_i = 0
  once = os.getenv("BENCH_ONCE") == "1"
  ping = wrk.format("GET", "/healthz")
end

function request()
  if #reqs == 0 then return ping end  -- more threads than lines
  if once then
    if verify_call() then return reqs[next_i + 1] or ping end  -- not sent: keep this line for real
    next_i = next_i + 1
    if reqs[next_i] == nil then
      finish_thread()
      return ping
    end
    return reqs[next_i]
  end
  next_i = next_i % #reqs + 1
  return reqs[next_i]
end

function response(status, headers, body)
  count_status(status)
end
