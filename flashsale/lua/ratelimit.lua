-- flashsale/lua/ratelimit.lua: count one hit in a fixed-window rate counter.
-- KEYS: 1 counter   ARGV: 1 max hits per window, 2 window ms
-- Returns 0 if the hit is within the limit, else the milliseconds until the window resets.
-- One key per call, so it is legal in a Redis Cluster; callers pipeline several counters in one
-- round trip. purchase.lua counts its two windows the same way, inline.
if #KEYS ~= 1 or #ARGV ~= 2 then return redis.error_reply('ratelimit.lua: want 1 KEY and 2 ARGV') end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n <= tonumber(ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then  -- a counter without a TTL would refuse forever: give it its window back
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return left
