-- bench/wrk/queue_join.lua: join a sale's waiting room, each shopper once (one shopper per request,
-- as the purchase run). BENCH_DATA lines: "<user_id> <api_token>"; BENCH_PATH is the queue path.
-- A thread that used up its lines stops (a quota run): bench/load.py then ends wrk.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i, finished
function init(args)
  local path = os.getenv("BENCH_PATH")
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    reqs[#reqs + 1] = wrk.format("POST", path, {["Authorization"] = "Token " .. row[2]})
  end
  next_i = 1
  -- What a finished thread sends until wrk stops: a 404 (no such path), so it is never counted as a join.
  finished = wrk.format("GET", "/bench/finished")
end

function request()
  if verify_call() then return reqs[next_i] or finished end  -- not sent: keep this line for real
  local r = reqs[next_i]
  if r == nil then
    finish_thread()
    return finished
  end
  next_i = next_i + 1
  return r
end

function response(status, headers, body)
  count_status(status)
end
