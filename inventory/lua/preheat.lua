-- inventory/lua/preheat.lua: write a sale's selling state with a new generation, if and only if
-- nothing moved since the caller read it (compare-and-set on generation, purchase seq, inflight).
-- One bucket of the sale (a one-bucket sale: the sale) per call; all KEYS in that bucket's slot.
-- KEYS: 1 meta, 2 stock, 3 bought, 4 released, 5 stream, 6 holds, 7 transfers out, 8 transfers in,
--       9 queue (bucket 0 only: 8 KEYS for the other buckets)
-- ARGV: 1 expected_gen ('' = not preheated), 2 expected_seq, 3 expected_inflight, 4 new_gen,
--       5 stock, 6 starts_ms, 7 ends_ms, 8 limit, 9 state, 10 group, 11 rebuild (1|0),
--       12 inflight to write (the stream's units when rebuilding, else expected_inflight),
--       13 the stream's length when rebuilding ('' otherwise): the meta cannot show a settle then,
--       14 queue on (1|0), 15 admissions per second, 16 admission ms, 17 pre-queue ms,
--       18 the sale's bucket count, then, when rebuilding: 'b', user, qty ... , 'r', reservation_id ... and 'h', reservation_id, hold_until_ms ...
-- Returns 'OK' or 'RETRY'.
if #KEYS < 8 or #KEYS > 9 or #ARGV < 18 then return redis.error_reply('preheat.lua: want 8 or 9 KEYS and 18+ ARGV') end
local cur = redis.call('HMGET', KEYS[1], 'gen', 'seq', 'inflight')
if (cur[1] or '') ~= ARGV[1] or (cur[2] or '0') ~= ARGV[2] or (cur[3] or '0') ~= ARGV[3] then
  return 'RETRY'
end
if ARGV[11] == '1' and redis.call('XLEN', KEYS[5]) ~= tonumber(ARGV[13]) then return 'RETRY' end
local stock = tonumber(ARGV[5])
if not stock or stock < 0 then return redis.error_reply('bad stock') end
redis.call('SET', KEYS[2], stock)
-- The new stock counts every unit afresh (from the DB): transfers in transit are void, and their
-- late credits are refused by the new generation.
redis.call('DEL', KEYS[7], KEYS[8])
if ARGV[11] == '1' then
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[6])
  local i = 19
  while i <= #ARGV do
    if ARGV[i] == 'b' then
      redis.call('HINCRBY', KEYS[3], ARGV[i + 1], ARGV[i + 2]); i = i + 3
    elseif ARGV[i] == 'h' then
      redis.call('ZADD', KEYS[6], ARGV[i + 2], ARGV[i + 1]); i = i + 3
    else
      redis.call('HSET', KEYS[4], ARGV[i + 1], '1'); i = i + 2
    end
  end
end
redis.call('HSET', KEYS[1], 'gen', ARGV[4], 'starts', ARGV[6], 'ends', ARGV[7], 'limit', ARGV[8],
  'state', ARGV[9], 'seq', ARGV[2], 'inflight', ARGV[12], 'buckets', ARGV[18])
if #KEYS == 9 then
  redis.call('HSET', KEYS[9], 'on', ARGV[14], 'rate', ARGV[15], 'admit_ms', ARGV[16], 'pre_ms', ARGV[17])
end
-- The consumer group may exist already (a re-preheat): that is fine.
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[5], ARGV[10], '0', 'MKSTREAM')
if not ok and not string.find(tostring(err), 'BUSYGROUP') then return redis.error_reply(tostring(err)) end
return 'OK'
