-- bench/wrk/post_users.lua: POST BENCH_BODY to BENCH_PATH, cycling through the API tokens of
-- BENCH_DATA ("<user_id> <api_token> ..." lines). Used for the naive purchase and the auth ping.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i
function init(args)
  local path, body = os.getenv("BENCH_PATH"), os.getenv("BENCH_BODY") or "{}"
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Authorization"] = "Token " .. row[2],
      ["Content-Type"] = "application/json",
    }, body)
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
