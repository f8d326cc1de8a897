-- inventory/lua/token.lua: store a user's one-time purchase nonce for a preheated sale; with the
-- sale's waiting room on, only for a user admitted now, and never beyond their admission.
-- KEYS: 1 meta, 2 token, 3 stats, 4 queue, 5 queue's admitted   ARGV: 1 nonce, 2 ttl_seconds, 3 user
-- Returns the seconds the nonce lives (> 0), 0 if the sale is not preheated, -1 if the user is
-- not admitted (no token: the purchase would be refused).
if #KEYS ~= 5 or #ARGV ~= 3 then return redis.error_reply('token.lua: want 5 KEYS and 3 ARGV') end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl_ms = tonumber(ARGV[2]) * 1000
if redis.call('HGET', KEYS[4], 'on') == '1' then
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[3]) or '0')
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if until_ms <= now then return -1 end
  ttl_ms = math.min(ttl_ms, until_ms - now)
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl_ms)  -- a new token replaces the user's previous one
redis.call('HINCRBY', KEYS[3], 'tokens_issued', 1)
return math.max(1, math.floor(ttl_ms / 1000))
