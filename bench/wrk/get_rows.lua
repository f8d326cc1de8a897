-- bench/wrk/get_rows.lua: GET one path per line of BENCH_DATA ("<api_token> <path>" lines, token
-- "-" for none), cycling: a polling shopper's reads (their order, the sale).
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local reqs, next_i
function init(args)
  reqs = {}
  for _, row in ipairs(my_lines(os.getenv("BENCH_DATA"))) do
    local headers = {}
    if row[1] ~= "-" then headers["Authorization"] = "Token " .. row[1] end
    reqs[#reqs + 1] = wrk.format("GET", row[2], headers)
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
