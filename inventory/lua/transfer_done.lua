-- inventory/lua/transfer_done.lua: forget a transfer the home bucket was credited with (donor side),
-- or, with 'undo', give its units back to the donor (the home bucket lost its state).
-- KEYS (the donor's slot): 1 meta, 2 stock, 3 transfers out   ARGV: 1 transfer id, 2 'done' | 'undo'
-- Returns 1 if the record was removed now, 0 if it was gone already.
if #KEYS ~= 3 or #ARGV ~= 2 then return redis.error_reply('transfer_done.lua: want 3 KEYS and 2 ARGV') end
local record = redis.call('HGET', KEYS[3], ARGV[1])
if not record then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[2] == 'undo' then
  local qty = tonumber(string.match(record, '^%d+ (%d+) '))
  redis.call('INCRBY', KEYS[2], qty)
  redis.call('HINCRBY', KEYS[1], 'seq', 1)
end
return 1
