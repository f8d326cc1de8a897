-- bench/wrk/ping.lua: GET a path with no body (the bare view). BENCH_PATH, default /bench/ping.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./") .. "common.lua")

local req
function init(args)
  req = wrk.format("GET", os.getenv("BENCH_PATH") or "/bench/ping")
end

function request()
  return req
end

function response(status, headers, body)
  count_status(status)
end
