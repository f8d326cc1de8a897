-- inventory/lua/transfer_in.lua: the second half of a transfer: credit the home bucket, once.
-- KEYS (the home bucket's slot): 1 meta, 2 stock, 3 transfers in
-- ARGV: 1 transfer id, 2 qty, 3 generation the donor recorded, 4 when the donor recorded it (ms),
--       5 the oldest transfer this caller may credit (ms of age; '' = any: reconciliation's repair)
-- Returns 1 if credited now, 0 if it was credited before, 'STALE' if the home bucket is of another
-- generation (a preheat rewrote the sale: it recounted these units) or the transfer is too old for
-- this caller (reconciliation completes it), 'NOT_PREHEATED' if the home bucket has no state.
if #KEYS ~= 3 or #ARGV ~= 5 then return redis.error_reply('transfer_in.lua: want 3 KEYS and 5 ARGV') end
local qty = tonumber(ARGV[2])
if not string.match(ARGV[2], '^[1-9][0-9]*$') then return redis.error_reply('transfer_in.lua: bad qty') end
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return 'NOT_PREHEATED' end
if gen ~= ARGV[3] then return 'STALE' end
if ARGV[5] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  -- A caller stalled past this age leaves the transfer to reconciliation, which completes only
  -- transfers older than it: the two never credit one transfer from two sides of a cleanup.
  if now - tonumber(ARGV[4]) > tonumber(ARGV[5]) then return 'STALE' end
end
-- The guard: a transfer id is credited once, whoever (the shopper's process, reconciliation) asks.
if redis.call('HSETNX', KEYS[3], ARGV[1], qty) == 0 then return 0 end
redis.call('INCRBY', KEYS[2], qty)
redis.call('HINCRBY', KEYS[1], 'seq', 1)  -- the bucket moved: a reading that saw it before is stale
return 1
