-- flashsale/lua/queue_join.lua: join a sale's waiting room, idempotently per user.
-- KEYS: as lib/queue.lua (bucket 0)
--   ARGV: 1 user, 2 random key for the pre-queue (drawn in Python)
--   ARGV 3, 4 (a split sale only): the other buckets' stock and open holds
-- Returns the view of lib/queue.lua (its first element the state), or {'NOT_PREHEATED'} or
-- {'NOT_OPEN', opens_at_ms} before the line opens. A shopper whose admission lapsed (or who was
-- never in) joins at the back; one with a live place keeps it.
if #KEYS ~= 12 or (#ARGV ~= 2 and #ARGV ~= 4) then return redis.error_reply('queue_join.lua: want 12 KEYS and 2 (or 4) ARGV') end
--! include lib/queue.lua
if #ARGV == 4 then ELSEWHERE.stock, ELSEWHERE.held = num(ARGV[3]), num(ARGV[4]) end
local user, random_key = ARGV[1], ARGV[2]
if not string.match(user, '^[1-9][0-9]*$') or not tonumber(random_key) then
  return redis.error_reply('queue_join.lua: bad user or key')
end
local meta = hash(K_META)
if not meta.gen then return {'NOT_PREHEATED'} end
local q = hash(K_Q)
local now = now_ms()
if closed_reason(meta, now) then
  redis.call('HINCRBY', K_Q, 'closed', 1)
  return view(meta, q, user, now)
end
if q.on ~= '1' then return view(meta, q, user, now) end
local opens = num(meta.starts) - num(q.pre_ms)
if now < opens then return {'NOT_OPEN', tostring(opens)} end
advance(meta, q, now)
local seen = view(meta, q, user, now)
if seen[1] ~= 'none' and seen[1] ~= 'lapsed' then return seen end
redis.call('HDEL', K_LAPSED, user)
redis.call('HSET', K_JOINED, user, now)
if q.shuffled ~= '1' then
  redis.call('ZADD', K_PRE, random_key, user)
else
  local position = redis.call('HINCRBY', K_Q, 'next', 1)
  redis.call('ZADD', K_POS, position, user)
  q.next = tostring(position)
end
return view(meta, q, user, now)
