-- inventory/lua/set_window.lua: move a preheated sale's window and per-user limit, touching no
-- stock and no counter (so it is safe while purchases are in flight).
-- KEYS: 1 meta   ARGV: 1 starts_ms, 2 ends_ms, 3 per-user limit
-- Returns 1 if set, 0 if the sale is not preheated (a missing meta must stay missing).
if #KEYS ~= 1 or #ARGV ~= 3 then return redis.error_reply('set_window.lua: want 1 KEY and 3 ARGV') end
local starts, ends, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not starts or not ends or ends <= starts then return redis.error_reply('bad window') end
if not limit or limit < 1 or math.floor(limit) ~= limit then return redis.error_reply('bad limit') end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'starts', ARGV[1], 'ends', ARGV[2], 'limit', ARGV[3])
return 1
