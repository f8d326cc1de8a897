-- config/lua/login_failure.lua: count one failed login and, past the free attempts, block the next
-- attempts for a delay that doubles with each further failure, up to a cap (a throttle, not a lockout).
-- KEYS: 1 failure counter, 2 block   ARGV: 1 free attempts, 2 first delay ms, 3 max delay ms, 4 window ms
-- Returns the block now in force, in ms (0 = none). The counter lives WINDOW ms after the last failure.
if #KEYS ~= 2 or #ARGV ~= 4 then return redis.error_reply('login_failure.lua: want 2 KEYS and 4 ARGV') end
local free, first, cap, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window)
if n <= free then return 0 end
local delay = math.floor(math.min(cap, first * 2 ^ math.min(n - free - 1, 30)))
redis.call('SET', KEYS[2], '1', 'PX', delay)
return delay
