-- orders/lua/note_gtid.lua: note a commit's GTID as the read-your-writes marker of some users,
-- never replacing a newer one. Two batches that commit in one order can note in the other; a plain
-- HSET would then leave the older GTID, and a reader would trust a replica missing the newer write.
-- KEYS: 1 this period's hash, 2 the previous period's hash
-- ARGV: 1 gtid (domain-server-seq), 2 ttl seconds of the hash, 3.. user ids
-- Returns how many markers were set.
if #KEYS ~= 2 or #ARGV < 3 then return redis.error_reply('note_gtid.lua: want 2 KEYS and 3+ ARGV') end
local domain, seq = string.match(ARGV[1], '^(%d+)%-%d+%-(%d+)$')
seq = tonumber(seq)
local function newer(old)  -- true if a stored marker is newer than ARGV[1] (same replication domain)
  if not old then return false end
  local od, os = string.match(old, '^(%d+)%-%d+%-(%d+)$')
  return od == domain and tonumber(os) > seq
end
local set = 0
for i = 3, #ARGV do
  local user = ARGV[i]
  if not newer(redis.call('HGET', KEYS[1], user)) and not newer(redis.call('HGET', KEYS[2], user)) then
    redis.call('HSET', KEYS[1], user, ARGV[1])
    set = set + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return set
