-- inventory/lua/abandon.lua: take back an accepted purchase that too few replicas confirmed in time
-- (REDIS_REPLICA_ACKS), unless a persister already has it. Idempotent: a second call changes nothing.
-- KEYS: 1 meta, 2 stock, 3 bought, 4 released, 5 stream, 6 holds, 7 res, 8 idem, 9 stats
-- ARGV: 1 reservation_id, 2 consumer group, 3 res_ttl_ms
-- Returns 'ABANDONED' (taken back now), 'HELD' (a persister read the entry: it decides the outcome),
--   or the reservation's status when it is no longer pending ('created', 'failed', '' = unknown).
if #KEYS ~= 9 or #ARGV ~= 3 then return redis.error_reply('abandon.lua: want 9 KEYS and 3 ARGV') end
--! include lib/return_units.lua
local rid = ARGV[1]
local res = redis.call('HMGET', KEYS[7], 'status', 'user', 'qty', 'entry')
local status, user, qty, entry = res[1], res[2], tonumber(res[3]), res[4]
if status ~= 'pending' or not entry or not qty then return status or '' end

-- Who owns the entry is decided by its delivery: a persister that read it (XREADGROUP) may be
-- writing it to the database now, so it stays theirs; one never delivered is ours to take back.
-- The persister acknowledges and deletes in one step (settle.lua), so "in the stream and not
-- pending" means "never delivered". Redis runs this script alone: no read can slip in between.
if #redis.call('XRANGE', KEYS[5], entry, entry) == 0 then return 'HELD' end
local pending = redis.pcall('XPENDING', KEYS[5], ARGV[2], entry, entry, 1)
if type(pending) == 'table' and #pending > 0 then return 'HELD' end
if redis.call('XDEL', KEYS[5], entry) == 0 then return 'HELD' end

-- The guarded return of release.lua and settle.lua: units and the buyer's count back at most once.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return_units(KEYS[2], KEYS[3], KEYS[4], KEYS[6], rid, user, qty)
  redis.call('HINCRBY', KEYS[1], 'inflight', -qty)  -- the entry left the stream without a settle
end
redis.call('HSET', KEYS[7], 'status', 'failed', 'reason', 'not_replicated')
redis.call('PEXPIRE', KEYS[7], ARGV[3])
-- A replay of the same Idempotency-Key gets this answer, not the 202 the script first recorded.
local seen = redis.call('GET', KEYS[8])
if seen then
  local fp, code, detail = string.match(seen, '^([^|]*)|([^|]*)|(.*)$')
  if code == 'OK' and detail == rid then redis.call('SET', KEYS[8], fp .. '|NOT_REPLICATED|', 'KEEPTTL') end
end
redis.call('HINCRBY', KEYS[9], 'purchase:OK', -1)  -- /metrics counts what shoppers were told
redis.call('HINCRBY', KEYS[9], 'purchase:NOT_REPLICATED', 1)
return 'ABANDONED'
