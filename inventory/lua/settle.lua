-- inventory/lua/settle.lua: after the DB commit, acknowledge persisted reservations and publish
-- their outcome, atomically, so "in flight" never counts an entry twice or drops one.
-- KEYS: 1 meta, 2 stock, 3 bought, 4 released, 5 stream, 6 stats, 7 holds, 8.. one res key per entry (same order)
-- ARGV: 1 group, 2 res_ttl_ms, then per entry 7 values:
--       entry_id, reservation_id, user, qty, outcome ('created'|'failed'), order_number, reason
-- Returns the number of entries this call acknowledged (0 for a redelivered, already settled one).
if #KEYS ~= 7 + (#ARGV - 2) / 7 or #ARGV < 2 or (#ARGV - 2) % 7 ~= 0 then
  return redis.error_reply('settle.lua: want 7 + n KEYS and 2 + 7n ARGV')
end
--! include lib/return_units.lua
local group, ttl = ARGV[1], ARGV[2]
local preheated = redis.call('EXISTS', KEYS[1]) == 1
local acked, units, acked_ids, outcomes = 0, 0, {}, {}
local n = (#ARGV - 2) / 7
for i = 0, n - 1 do
  local b = 3 + i * 7
  local id, rid, user, qty = ARGV[b], ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3])
  local outcome, order_number, reason = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  -- XACK answers 1 only the first time: that is the exactly-once guard for the counters below.
  if redis.call('XACK', KEYS[5], group, id) == 1 then
    acked = acked + 1
    acked_ids[acked] = id
    units = units + qty
    outcomes[outcome] = (outcomes[outcome] or 0) + 1
  end
  -- A failed reservation gives its units back once, keyed by reservation id.
  if outcome == 'failed' and preheated then
    return_units(KEYS[2], KEYS[3], KEYS[4], KEYS[7], rid, user, qty)
  end
  local res = KEYS[8 + i]
  redis.call('HSET', res, 'status', outcome, 'user', user, 'qty', qty, 'order_number', order_number, 'reason', reason)
  redis.call('PEXPIRE', res, ttl)
end
-- The counters once per call, not once per entry (fewer commands to run and to append to the AOF).
-- What stays in the stream is exactly what is in flight: the acknowledged entries leave it.
for lo = 1, acked, 1000 do
  redis.call('XDEL', KEYS[5], unpack(acked_ids, lo, math.min(lo + 999, acked)))
end
if preheated and units > 0 then
  redis.call('HINCRBY', KEYS[1], 'inflight', -units)
end
for _, outcome in ipairs({'created', 'failed'}) do  -- a fixed order: the script stays deterministic
  if outcomes[outcome] then
    redis.call('HINCRBY', KEYS[6], 'orders_' .. outcome, outcomes[outcome])
  end
end
return acked
