-- inventory/lua/purchase.lua: take qty of a sale for a user, all or nothing, in one round trip.
-- KEYS: 1 meta, 2 stock, 3 bought, 4 token, 5 idem, 6 stream, 7 res, 8 kick, 9 stats,
--       10 rate counter of the user, 11 rate counter of the client IP, 12 holds
-- ARGV: 1 user, 2 qty, 3 nonce, 4 reservation_id, 5 fingerprint ('' = no Idempotency-Key),
--       6 idem_ttl_ms, 7 res_ttl_ms, 8 kick_ms,
--       9 user max, 10 user window ms, 11 ip max, 12 ip window ms (max 0 = no limit),
--       13 how long an accepted purchase holds its units unpaid (ms: the payment deadline),
--       14 how many buckets the caller believes the sale has, 15 '1' = answer SHORT rather than
--       SOLD_OUT (a split sale: the caller can move units into this, the shopper's home bucket)
-- All KEYS are one bucket's (its hash tag): the shopper's home bucket.
-- Returns {code, detail, kick}: code is OK | SOLD_OUT | LIMIT | BAD_TOKEN | NOT_LIVE |
--   NOT_PREHEATED | INVALID | MISMATCH | RATE_LIMITED | MOVED | SHORT; detail is the reservation id
--   on OK, the milliseconds until the window resets on RATE_LIMITED, the sale's bucket count on
--   MOVED, the bucket's stock on SHORT (nothing spent, nothing counted); kick is 1 when the caller
--   should wake the persister (debounced here so the web tier publishes rarely).
if #KEYS ~= 12 or #ARGV ~= 15 then return redis.error_reply('purchase.lua: want 12 KEYS and 15 ARGV') end
local user, qty_raw, nonce, rid, fp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local meta = redis.call('HMGET', KEYS[1], 'state', 'starts', 'ends', 'limit', 'gen', 'buckets')
if not meta[1] then
  return {'NOT_PREHEATED', '', 0}
end
-- The caller picked the home bucket from a bucket count it remembers: a re-split sale says so.
if (meta[6] or '1') ~= ARGV[14] then return {'MOVED', meta[6] or '1', 0} end

-- Every answer is counted per outcome, for /metrics, in this same round trip.
local function reply(code, detail, kick)
  redis.call('HINCRBY', KEYS[9], 'purchase:' .. code, 1)
  return {code, detail, kick}
end

-- Rate limits first (fixed windows as in ratelimit.lua, counted per sale so every key stays in the
-- sale's slot): a refused attempt spends nothing, not even its token. Both are in this round trip.
local function window_left(key, max, window_ms)
  if max <= 0 then return nil end
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, window_ms) end
  if n <= max then return nil end
  local left = redis.call('PTTL', key)
  if left < 0 then  -- a counter without a TTL would refuse forever: give it its window back
    redis.call('PEXPIRE', key, window_ms)
    left = window_ms
  end
  return left
end
local left = window_left(KEYS[10], tonumber(ARGV[9]), tonumber(ARGV[10]))
  or window_left(KEYS[11], tonumber(ARGV[11]), tonumber(ARGV[12]))
if left then return reply('RATE_LIMITED', tostring(left), 0) end

-- An Idempotency-Key answers a repeat with the first answer, before the (spent) token is looked at.
if fp ~= '' then
  local seen = redis.call('GET', KEYS[5])
  if seen then
    local sfp, scode, sdetail = string.match(seen, '^([^|]*)|([^|]*)|(.*)$')
    if sfp ~= fp then return reply('MISMATCH', '', 0) end
    return reply(scode, sdetail, 0)
  end
end

-- Lua's tonumber accepts '0x10', '1e3', ' 2 ', 'inf': accept plain decimal digits only.
if not string.match(user, '^[1-9][0-9]*$') or not string.match(qty_raw, '^[1-9][0-9]?[0-9]?[0-9]?$') then
  return reply('INVALID', 'quantity', 0)
end
local qty, limit = tonumber(qty_raw), tonumber(meta[4])

if meta[1] ~= 'on' then return reply('NOT_LIVE', meta[1], 0) end
local t = redis.call('TIME')  -- one clock for every web process: Redis's
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(meta[2]) then return reply('NOT_LIVE', 'not_started', 0) end
if now >= tonumber(meta[3]) then return reply('NOT_LIVE', 'ended', 0) end

if nonce == '' or redis.call('GET', KEYS[4]) ~= nonce then
  return reply('BAD_TOKEN', '', 0)
end
local bought = tonumber(redis.call('HGET', KEYS[3], user) or '0')
local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
-- A split sale's home bucket is short: say so before the token or anything else is spent, so the
-- caller can move units here and ask again (only when the limit would allow the purchase).
if ARGV[15] == '1' and stock < qty and qty <= limit and bought + qty <= limit then
  return {'SHORT', tostring(stock), 0}
end
redis.call('DEL', KEYS[4])  -- single use: spent by any attempt that got this far
redis.call('HINCRBY', KEYS[9], 'tokens_used', 1)

local function answer(code, detail)
  if fp ~= '' then
    redis.call('SET', KEYS[5], fp .. '|' .. code .. '|' .. detail, 'PX', ARGV[6])
  end
  return code
end

if qty > limit or bought + qty > limit then
  return reply(answer('LIMIT', tostring(limit - bought)), tostring(limit - bought), 0)
end
if stock < qty then
  return reply(answer('SOLD_OUT', tostring(stock)), tostring(stock), 0)
end

redis.call('DECRBY', KEYS[2], qty)
redis.call('HINCRBY', KEYS[3], user, qty)
redis.call('HINCRBY', KEYS[1], 'inflight', qty)
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[12], now + tonumber(ARGV[13]), rid)  -- held until paid, returned or past its deadline
local entry = redis.call('XADD', KEYS[6], '*', 'rid', rid, 'user', user, 'qty', qty, 'gen', meta[5], 'ts', now)
-- The entry id lets abandon.lua take back a purchase its replicas never confirmed.
redis.call('HSET', KEYS[7], 'status', 'pending', 'user', user, 'qty', qty, 'entry', entry)
redis.call('PEXPIRE', KEYS[7], ARGV[7])
answer('OK', rid)
local kick = redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[8]) and 1 or 0
return reply('OK', rid, kick)
