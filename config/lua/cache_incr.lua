-- config/lua/cache_incr.lua: Django's cache.incr on a cluster: add delta to a key only if it exists.
-- KEYS: 1 the cache key   ARGV: 1 delta (integer)
-- Returns the new value, or nil (false) when the key is missing (the cache raises ValueError).
if #KEYS ~= 1 or #ARGV ~= 1 then return redis.error_reply('cache_incr.lua: want 1 KEY and 1 ARGV') end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('INCRBY', KEYS[1], ARGV[1])
