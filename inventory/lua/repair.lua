-- inventory/lua/repair.lua: set a sale's Redis stock to the value reconciliation computed, if and
-- only if nothing moved since it read (generation, purchase seq, in flight and stock unchanged).
-- KEYS: 1 meta, 2 stock, 3 released
-- ARGV: 1 gen, 2 seq, 3 inflight, 4 stock_seen, 5 stock_new, 6 released_count_seen
-- Returns 1 if repaired, 0 if the state moved (the caller records "unstable" and retries later).
if #KEYS ~= 3 or #ARGV ~= 6 then return redis.error_reply('repair.lua: want 3 KEYS and 6 ARGV') end
local cur = redis.call('HMGET', KEYS[1], 'gen', 'seq', 'inflight')
if cur[1] ~= ARGV[1] or (cur[2] or '0') ~= ARGV[2] or (cur[3] or '0') ~= ARGV[3] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[4] then return 0 end
if tostring(redis.call('HLEN', KEYS[3])) ~= ARGV[6] then return 0 end
local new = tonumber(ARGV[5])
if not new or new < 0 then return redis.error_reply('bad stock') end
redis.call('SET', KEYS[2], new)
return 1
