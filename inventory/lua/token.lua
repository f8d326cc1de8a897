-- inventory/lua/token.lua: store a user's one-time purchase nonce for a preheated sale; with the
-- sale's waiting room on, only for a user admitted now, and never beyond their admission.
-- KEYS (the user's home bucket): 1 meta, 2 token, 3 stats, and in bucket 0 only: 4 queue, 5 queue's admitted
-- ARGV: 1 nonce, 2 ttl_seconds, 3 user, 4 buckets the caller believes the sale has,
--       5 with 3 KEYS: until when (ms) the user is admitted, as the caller read it in bucket 0
--         ('' = the sale has no waiting room; 0 = not admitted)
-- Returns the seconds the nonce lives (> 0), 0 if the sale is not preheated, -1 if the user is
-- not admitted (no token: the purchase would be refused), -2 if the sale has another bucket count.
if #KEYS ~= (#ARGV == 4 and 5 or 3) or (#ARGV ~= 4 and #ARGV ~= 5) then
  return redis.error_reply('token.lua: want 5 KEYS and 4 ARGV, or 3 KEYS and 5 ARGV')
end
local meta = redis.call('HMGET', KEYS[1], 'gen', 'buckets')
if not meta[1] then return 0 end
if (meta[2] or '1') ~= ARGV[4] then return -2 end
local ttl_ms = tonumber(ARGV[2]) * 1000
local until_ms = nil
if #KEYS == 5 then
  if redis.call('HGET', KEYS[4], 'on') == '1' then until_ms = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[3]) or '0') end
elseif ARGV[5] ~= '' then
  until_ms = tonumber(ARGV[5]) or 0
end
if until_ms then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if until_ms <= now then return -1 end
  ttl_ms = math.min(ttl_ms, until_ms - now)
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl_ms)  -- a new token replaces the user's previous one
redis.call('HINCRBY', KEYS[3], 'tokens_issued', 1)
return math.max(1, math.floor(ttl_ms / 1000))
