-- inventory/lua/set_state.lua: pause ('paused') or resume ('on') a preheated sale at once.
-- KEYS: 1 meta   ARGV: 1 state
-- Returns 1 if set, 0 if the sale is not preheated (a missing meta must stay missing: it means
-- "not preheated", which purchases answer with 503).
if #KEYS ~= 1 or #ARGV ~= 1 then return redis.error_reply('set_state.lua: want 1 KEY and 1 ARGV') end
if ARGV[1] ~= 'on' and ARGV[1] ~= 'paused' then return redis.error_reply('bad state') end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 1
