-- inventory/lua/hold_end.lua: a paid order's units stop being held (they are sold for good).
-- KEYS: 1 holds   ARGV: 1 reservation_id
-- Returns 1 if the hold ended now, 0 if it had ended before.
if #KEYS ~= 1 or #ARGV ~= 1 then return redis.error_reply('hold_end.lua: want 1 KEY and 1 ARGV') end
return redis.call('ZREM', KEYS[1], ARGV[1])
