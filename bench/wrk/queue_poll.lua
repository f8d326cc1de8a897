-- bench/wrk/queue_poll.lua: poll a sale's waiting room as shoppers do, with their tickets and no
-- other credential. BENCH_DATA lines: "<ticket>" (from joining); BENCH_PATH is the queue path.
-- Each thread cycles through its tickets for the run's duration.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i
function init(args)
  local path = os.getenv("BENCH_PATH")
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    reqs[#reqs + 1] = wrk.format("GET", path, {["X-Queue-Ticket"] = row[1]})
  end
  next_i = 0
end

function request()
  if #reqs == 0 then return wrk.format("GET", "/healthz") end  -- more threads than lines
  next_i = next_i % #reqs + 1
  return reqs[next_i]
end

function response(status, headers, body)
  count_status(status)
end
