-- inventory/lua/token.lua: store a user's one-time purchase nonce for a preheated sale.
-- KEYS: 1 meta, 2 token, 3 stats   ARGV: 1 nonce, 2 ttl_seconds
-- Returns 1 if stored, 0 if the sale is not preheated (no token: the purchase would be refused).
if #KEYS ~= 3 or #ARGV ~= 2 then return redis.error_reply('token.lua: want 3 KEYS and 2 ARGV') end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])  -- a new token replaces the user's previous one
redis.call('HINCRBY', KEYS[3], 'tokens_issued', 1)
return 1
