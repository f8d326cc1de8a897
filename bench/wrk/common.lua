-- bench/wrk/common.lua: shared by the bench's wrk scripts (loaded with dofile from each of them).
-- Gives: now_us() (CLOCK_MONOTONIC, the clock of Python's time.monotonic), per-thread ids,
-- the thread's slice of a data file, status counting, marker files for quota runs, and a done()
-- that writes one JSON summary ($BENCH_OUT/result.json) for bench/load.py.
-- Config comes from the environment: BENCH_OUT (a directory), BENCH_THREADS (wrk's -t), BENCH_DATA,
-- BENCH_PATH, BENCH_BODY, BENCH_SALE, BENCH_QUOTA.
--
-- wrk calls setup() then init() thread by thread, and right after the first thread's init() it
-- calls that thread's request() once to check the request it returns; that request is never sent.
-- Scripts whose request() consumes data answer that call from verify_request() without side effects.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

function now_us()
  ffi.C.clock_gettime(1, ts)  -- 1 = CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

OUT = os.getenv("BENCH_OUT") or "."
NTHREADS = tonumber(os.getenv("BENCH_THREADS") or "1")
statuses = {}      -- per thread: status -> count (copied to the main state by done())
exhausted = false  -- per thread: ran out of data (quota runs: expected; duration runs: a warning)

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- True exactly once, in the first thread: the request() call wrk makes only to check the request.
local verify_pending = nil
function verify_call()
  if verify_pending == nil then verify_pending = (tid == 1) end
  if verify_pending then
    verify_pending = false
    return true
  end
  return false
end

-- The lines of a whitespace-separated data file that belong to this thread (line i -> thread i mod n).
function my_lines(path)
  local rows, i = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % NTHREADS == tid - 1 then
        local fields = {}
        for f in line:gmatch("%S+") do fields[#fields + 1] = f end
        rows[#rows + 1] = fields
      end
      i = i + 1
    end
  end
  return rows
end

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

-- A quota run's thread is finished: stop it and leave a marker so bench/load.py can end wrk.
function finish_thread()
  if not exhausted then
    exhausted = true
    local f = io.open(OUT .. "/done-" .. tid, "w")
    if f then f:write("done\n"); f:close() end
  end
  wrk.thread:stop()
end

local function json(v)
  local kind = type(v)
  if kind == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = string.format("%q:%s", tostring(k), json(x)) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    return string.format("%.17g", v)
  elseif kind == "boolean" then
    return tostring(v)
  end
  return string.format("%q", tostring(v))
end

extra_done = nil  -- a script may set this: function(threads) -> table merged into the summary

function done(summary, latency, requests)
  local merged, exhausted_threads = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses") or {}) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + n
    end
    if t:get("exhausted") then exhausted_threads = exhausted_threads + 1 end
  end
  local result = {
    requests = summary.requests, duration_us = summary.duration, bytes = summary.bytes,
    errors = summary.errors, statuses = merged, threads = #threads, exhausted_threads = exhausted_threads,
    latency_us = {
      mean = latency.mean, max = latency.max, stdev = latency.stdev,
      p50 = latency:percentile(50), p90 = latency:percentile(90), p99 = latency:percentile(99),
      p999 = latency:percentile(99.9),
    },
  }
  if extra_done then
    for k, v in pairs(extra_done(threads)) do result[k] = v end
  end
  local f = assert(io.open(OUT .. "/result.json", "w"))
  f:write(json(result), "\n")
  f:close()
end
