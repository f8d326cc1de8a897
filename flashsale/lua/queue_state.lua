-- flashsale/lua/queue_state.lua: bring a sale's waiting room up to now (at most every ARGV[2] ms)
-- and say what one shopper sees (or, with no user, what the line looks like).
-- KEYS: as lib/queue.lua (bucket 0)
--   ARGV: 1 user ('' for none), 2 least ms between two advances
--   ARGV 3, 4 (a split sale only): the other buckets' stock and open holds
-- Returns the view of lib/queue.lua, or {'NOT_PREHEATED'}.
if #KEYS ~= 12 or (#ARGV ~= 2 and #ARGV ~= 4) then return redis.error_reply('queue_state.lua: want 12 KEYS and 2 (or 4) ARGV') end
--! include lib/queue.lua
if #ARGV == 4 then ELSEWHERE.stock, ELSEWHERE.held = num(ARGV[3]), num(ARGV[4]) end
local user = ARGV[1]
if user ~= '' and not string.match(user, '^[1-9][0-9]*$') then return redis.error_reply('queue_state.lua: bad user') end
local meta = hash(K_META)
if not meta.gen then return {'NOT_PREHEATED'} end
local q = hash(K_Q)
local now = now_ms()
if now - num(q.tick) >= num(ARGV[2]) then advance(meta, q, now) end
return view(meta, q, user, now)
