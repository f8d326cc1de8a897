-- inventory/lua/release.lua: give a closed order's units back to the sale, exactly once.
-- KEYS: 1 meta, 2 stock, 3 bought, 4 released, 5 holds   ARGV: 1 reservation_id, 2 user, 3 qty
-- Returns 1 if returned now, 0 if it was returned before or the sale is not preheated
-- (a later preheat recomputes the stock from the database, which already counts the return).
if #KEYS ~= 5 or #ARGV ~= 3 then return redis.error_reply('release.lua: want 5 KEYS and 3 ARGV') end
--! include lib/return_units.lua
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local qty = tonumber(ARGV[3])
if not qty or qty < 1 or math.floor(qty) ~= qty then return redis.error_reply('bad qty') end
return return_units(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], qty)
