-- config/lua/login_attempt.lua: let a login attempt through, counted, unless its bucket is blocked.
-- The attempt is counted before the password is checked (a success gives it back), so concurrent
-- guesses cannot all slip past one check; past the free attempts each counted attempt blocks the
-- next ones for a delay that doubles, up to a cap (a growing wait, not a lockout).
-- KEYS: 1 attempt counter, 2 block   ARGV: 1 free attempts, 2 first delay ms, 3 max delay ms, 4 window ms
-- Returns 0 if the attempt may go on, else the ms left of the block. The counter lives WINDOW ms
-- after the last attempt.
if #KEYS ~= 2 or #ARGV ~= 4 then return redis.error_reply('login_attempt.lua: want 2 KEYS and 4 ARGV') end
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return wait end
local free, first, cap, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window)
if n > free then
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(math.min(cap, first * 2 ^ math.min(n - free - 1, 30))))
end
return 0
