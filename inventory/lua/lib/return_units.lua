-- inventory/lua/lib/return_units.lua (included by release.lua and settle.lua): give a reservation's
-- units back to the sale exactly once. The released hash is the guard, keyed by reservation id.
-- Returns 1 if the units went back now, 0 if they had gone back before.
local function return_units(stock_key, bought_key, released_key, reservation_id, user, qty)
  if redis.call('HSETNX', released_key, reservation_id, '1') == 0 then return 0 end
  redis.call('INCRBY', stock_key, qty)
  redis.call('HINCRBY', bought_key, user, -qty)
  return 1
end
