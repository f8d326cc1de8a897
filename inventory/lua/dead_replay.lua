-- inventory/lua/dead_replay.lua: put a parked entry back on the sale's stream exactly as it was.
-- KEYS: 1 dead letters (hash entry id -> JSON)  2 stream   ARGV: 1 entry id
-- Returns {'OK', new entry id} | {'MISSING', ''} (replayed or discarded already) |
-- {'REFUSED', reason} (settled as a failure: its units went back, a replay would sell them twice).
if #KEYS ~= 2 or #ARGV ~= 1 then return redis.error_reply('dead_replay.lua: want 2 KEYS and 1 ARGV') end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'MISSING', ''} end
local letter = cjson.decode(raw)
if letter['replayable'] ~= true or type(letter['fields']) ~= 'table' then
  return {'REFUSED', tostring(letter['reason'])}
end
local argv = {}
for name, value in pairs(letter['fields']) do
  argv[#argv + 1] = tostring(name)
  argv[#argv + 1] = tostring(value)
end
if #argv == 0 then return {'REFUSED', 'no fields'} end
local new_id = redis.call('XADD', KEYS[2], '*', unpack(argv))
redis.call('HDEL', KEYS[1], ARGV[1])
return {'OK', new_id}
