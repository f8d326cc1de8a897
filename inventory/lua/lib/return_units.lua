-- inventory/lua/lib/return_units.lua (included by release.lua and settle.lua): give a reservation's
-- units back to the sale exactly once, and end its hold. The released hash is the guard of the
-- return, keyed by reservation id; removing the reservation from the holds is the guard of the hold.
-- Returns 1 if the units went back now, 0 if they had gone back before.
local function end_hold(holds_key, reservation_id)
  redis.call('ZREM', holds_key, reservation_id)
end

local function return_units(stock_key, bought_key, released_key, holds_key, reservation_id, user, qty)
  end_hold(holds_key, reservation_id)
  if redis.call('HSETNX', released_key, reservation_id, '1') == 0 then return 0 end
  redis.call('INCRBY', stock_key, qty)
  -- The stock moved: a split sale's reading of its buckets that saw it before is stale (KEYS[1] is
  -- the meta in both scripts that include this).
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'seq', 1) end
  redis.call('HINCRBY', bought_key, user, -qty)
  return 1
end
