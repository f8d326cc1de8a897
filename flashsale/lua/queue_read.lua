-- flashsale/lua/queue_read.lua: the waiting room's numbers for operators (the console, /metrics),
-- read at one moment and changing nothing (the line is not advanced: beat and the polls do that).
-- KEYS: as lib/queue.lua   ARGV: none
-- Returns {'NOT_PREHEATED'} or {on, paused, shuffled, prequeue, waiting, admitted now, admitted
-- total, lapsed total, closed total, rate setting, measured rate, oldest waiting join ms or '', now}.
-- Waiting counts the places past the serving counter; the oldest of them is the longest wait.
if #KEYS ~= 12 or #ARGV ~= 0 then return redis.error_reply('queue_read.lua: want 12 KEYS and no ARGV') end
--! include lib/queue.lua
if redis.call('EXISTS', K_META) == 0 then return {'NOT_PREHEATED'} end
local q = hash(K_Q)
local now = now_ms()
local serving = '(' .. num(q.serving)
local oldest = ''
local first = redis.call('ZRANGEBYSCORE', K_POS, serving, '+inf', 'LIMIT', 0, 1)
if first[1] then oldest = redis.call('HGET', K_JOINED, first[1]) or '' end
return {
  q.on == '1' and 1 or 0,
  q.paused == '1' and 1 or 0,
  q.shuffled == '1' and 1 or 0,
  redis.call('ZCARD', K_PRE),
  redis.call('ZCOUNT', K_POS, serving, '+inf'),
  redis.call('ZCOUNT', K_ADM, '(' .. now, '+inf'),
  num(q.admitted),
  num(q.lapsed),
  num(q.closed),
  tostring(num(q.rate)),
  tostring(measured_rate()),
  oldest,
  now,
}
