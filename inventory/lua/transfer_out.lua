-- inventory/lua/transfer_out.lua: the first half of a transfer between the buckets of a split sale.
-- Take up to `wanted` units from this (the donor) bucket and record them as in transit to `home`.
-- KEYS (the donor's slot): 1 meta, 2 stock, 3 transfers out
-- ARGV: 1 transfer id, 2 home bucket, 3 wanted (>= 1)
-- Returns {taken, generation, ms}: taken is 0 when the donor has nothing (or is not preheated).
-- The record ('home qty generation ms') stays until the home bucket is known credited: until then
-- the units count as in transit, never as lost (reconciliation completes a transfer left halfway).
if #KEYS ~= 3 or #ARGV ~= 3 then return redis.error_reply('transfer_out.lua: want 3 KEYS and 3 ARGV') end
local wanted = tonumber(ARGV[3])
if not string.match(ARGV[3], '^[1-9][0-9]*$') or not string.match(ARGV[2], '^[0-9]+$') then
  return redis.error_reply('transfer_out.lua: bad home or quantity')
end
local meta = redis.call('HMGET', KEYS[1], 'gen', 'state')
if not meta[1] then return {0, '', 0} end
local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
local taken = math.min(stock, wanted)
if taken <= 0 then return {0, meta[1], 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DECRBY', KEYS[2], taken)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. ' ' .. taken .. ' ' .. meta[1] .. ' ' .. now)
redis.call('HINCRBY', KEYS[1], 'seq', 1)  -- the bucket moved: a reading that saw it before is stale
return {taken, meta[1], now}
