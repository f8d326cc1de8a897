-- inventory/lua/expire_keys.lua: let an ended sale's keys expire at a given time, but only once
-- nothing in Redis is still owed to the database or an operator.
-- KEYS: 1 meta, 2 stream, 3 dead letters, 4 holds, 5 transfers out, then every other key of the
--       bucket (all one slot)
-- ARGV: 1 when (unix ms)
-- Returns the number of keys given the expiry, 0 if something is still owed (entries in the
-- stream or in flight, dead letters, unpaid holds, units in transit), -1 if the bucket is not in Redis.
if #KEYS < 5 or #ARGV ~= 1 then return redis.error_reply('expire_keys.lua: want >= 5 KEYS and 1 ARGV') end
local at = tonumber(ARGV[1])
if not at or at < 0 or math.floor(at) ~= at then return redis.error_reply('bad time') end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('XLEN', KEYS[2]) > 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'inflight') or '0') ~= 0 then return 0 end
if redis.call('HLEN', KEYS[3]) > 0 then return 0 end
if redis.call('ZCARD', KEYS[4]) > 0 then return 0 end
if redis.call('HLEN', KEYS[5]) > 0 then return 0 end
local set = 0
for _, key in ipairs(KEYS) do
  set = set + redis.call('PEXPIREAT', key, at)
end
return set
