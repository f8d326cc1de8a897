-- flashsale/lua/lib/queue.lua (included by queue_join.lua, queue_state.lua): the waiting room's
-- clock, its closed rule, and advance(): the shuffle at the start, lapses, admissions at the rate.
-- Every queue script takes the same KEYS:
--   1 meta, 2 stock, 3 bought, 4 holds, 5 q, 6 q:pre, 7 q:pos, 8 q:adm, 9 q:lapsed, 10 q:joined,
--   11 stats, 12 q:series
local K_META, K_STOCK, K_BOUGHT, K_HOLDS, K_Q, K_PRE, K_POS, K_ADM, K_LAPSED, K_JOINED, K_STATS, K_SERIES =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local WAIT_BUCKETS = {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
-- A sale split over buckets keeps the line here, in bucket 0, and stock in every bucket: the
-- caller reads the other buckets (other slots) and passes their stock and open holds in.
local ELSEWHERE = {stock = 0, held = 0}
local SERIES_LENGTH = 600  -- one sample a second: the console's chart shows the last ten minutes

local function now_ms()
  local t = redis.call('TIME')  -- one clock for every web process: Redis's
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function num(v) return tonumber(v or '0') or 0 end

-- 'ended', 'sold_out' or false. Sold out means nothing can come back: no stock and no unit held
-- by an accepted purchase that is neither paid nor past its payment deadline (a held unit may
-- still return, so the line stays open for it).
local function stock_now()
  return num(redis.call('GET', K_STOCK)) + ELSEWHERE.stock
end

local function closed_reason(meta, now)
  if now >= num(meta.ends) then return 'ended' end
  if stock_now() <= 0 and redis.call('ZCOUNT', K_HOLDS, '(' .. now, '+inf') + ELSEWHERE.held == 0 then
    return 'sold_out'
  end
  return false
end

local function hash(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

local function record_wait(user, now)
  local joined = redis.call('HGET', K_JOINED, user)
  if not joined then return end
  local seconds = (now - tonumber(joined)) / 1000
  local bound = '+Inf'
  for _, b in ipairs(WAIT_BUCKETS) do
    if seconds <= b then bound = tostring(b); break end
  end
  redis.call('HINCRBY', K_STATS, 'qwait:le:' .. bound, 1)
  redis.call('HINCRBYFLOAT', K_STATS, 'qwait:sum', seconds)
end

-- Rank the pre-queue by the random keys drawn at join (in Python, with `secrets`: Lua's
-- math.random repeats itself on Redis 6.2) and give them places 1..P.
local function shuffle(q)
  local users = redis.call('ZRANGE', K_PRE, 0, -1)
  for i, user in ipairs(users) do
    redis.call('ZADD', K_POS, i, user)
  end
  redis.call('DEL', K_PRE)
  redis.call('HSET', K_Q, 'shuffled', '1', 'next', #users)
  q.shuffled, q.next = '1', tostring(#users)
end

-- Admissions that ran out: a shopper who bought nothing gives the slot back (serving moves one
-- further, so a lapsed slot is not lost capacity); either way their admission has ended.
local function expire_admissions(now)
  local ended = redis.call('ZRANGEBYSCORE', K_ADM, '-inf', now)
  local given_back = 0
  for _, user in ipairs(ended) do
    redis.call('ZREM', K_ADM, user)
    redis.call('ZREM', K_POS, user)
    redis.call('HSET', K_LAPSED, user, now)
    if num(redis.call('HGET', K_BOUGHT, user)) <= 0 then given_back = given_back + 1 end
  end
  if #ended > 0 then redis.call('HINCRBY', K_Q, 'lapsed', #ended) end
  return given_back
end

local function admit(q, count, now)
  if count <= 0 then return 0 end
  local serving = num(q.serving)
  local users = redis.call('ZRANGEBYSCORE', K_POS, '(' .. serving, '+inf', 'WITHSCORES', 'LIMIT', 0, count)
  local until_ms = now + num(q.admit_ms)
  local n = 0
  for i = 1, #users, 2 do
    redis.call('ZADD', K_ADM, until_ms, users[i])
    record_wait(users[i], now)
    serving = tonumber(users[i + 1])
    n = n + 1
  end
  if n > 0 then
    redis.call('HSET', K_Q, 'serving', serving)
    redis.call('HINCRBY', K_Q, 'admitted', n)
    q.serving = tostring(serving)
  end
  return n
end

local function sample(q, now)
  local last = redis.call('LINDEX', K_SERIES, 0)
  if last and now - tonumber(string.match(last, '^(%d+)')) < 1000 then return end
  local waiting = redis.call('ZCOUNT', K_POS, '(' .. num(q.serving), '+inf') + redis.call('ZCARD', K_PRE)
  local admitted = num(redis.call('HGET', K_Q, 'admitted'))
  redis.call('LPUSH', K_SERIES, now .. ' ' .. stock_now() .. ' ' .. waiting .. ' ' .. admitted)
  redis.call('LTRIM', K_SERIES, 0, SERIES_LENGTH - 1)
end

-- Bring the line up to now: shuffle at the start, end lapsed admissions, admit at the rate.
-- Admission waits while nothing is in stock (held units may come back, and are then offered in
-- place order). The time since the last tick counts up to one second: an idle line never bursts.
local function advance(meta, q, now)
  if q.on ~= '1' or now < num(meta.starts) then return end
  if q.shuffled ~= '1' then shuffle(q) end
  local owed = expire_admissions(now)
  local last = num(q.tick)
  if last == 0 then last = num(meta.starts) end
  local elapsed = math.max(0, math.min(now - last, 1000))
  local carry = num(q.carry) + elapsed * num(q.rate)
  local count = math.floor(carry / 1000)
  carry = carry - count * 1000
  if q.paused == '1' or closed_reason(meta, now) or stock_now() <= 0 then
    count, carry, owed = 0, 0, 0
  end
  admit(q, count + owed, now)
  redis.call('HSET', K_Q, 'tick', now, 'carry', carry)
  q.tick = tostring(now)
  sample(q, now)
end

-- Admissions a second over the last ten seconds of samples (0 until there are two samples).
local function measured_rate()
  local newest, older = redis.call('LINDEX', K_SERIES, 0), redis.call('LINDEX', K_SERIES, 10)
  if not older then older = redis.call('LINDEX', K_SERIES, -1) end
  if not newest or not older or newest == older then return 0 end
  local t1, a1 = string.match(newest, '^(%d+) %d+ %d+ (%d+)$')
  local t0, a0 = string.match(older, '^(%d+) %d+ %d+ (%d+)$')
  if tonumber(t1) <= tonumber(t0) then return 0 end
  return (tonumber(a1) - tonumber(a0)) * 1000 / (tonumber(t1) - tonumber(t0))
end

local function held_until(now)
  local last = redis.call('ZRANGE', K_HOLDS, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > now then return last[2] end
  return ''
end

-- What one shopper sees: {state, position, ahead, admitted_until, reason, serving, last_position,
-- held_until, measured rate, now, paused, rate setting}; '' where a value does not apply. state:
-- closed | admitted | lapsed | waiting | prequeue | none.
local function view(meta, q, user, now)
  local function out(state, position, ahead, admitted_until, reason)
    return {state, position or '', ahead or '', admitted_until or '', reason or '', num(q.serving), num(q.next),
            held_until(now), tostring(measured_rate()), now, q.paused == '1' and 1 or 0, tostring(num(q.rate))}
  end
  local reason = closed_reason(meta, now)
  if reason then return out('closed', nil, nil, nil, reason) end
  if q.on ~= '1' then return out('admitted', nil, nil, meta.ends) end
  if user == '' then return out('none') end
  local until_ms = redis.call('ZSCORE', K_ADM, user)
  local position = redis.call('ZSCORE', K_POS, user)
  if until_ms then  -- an admission not yet swept by advance() has still ended at its time
    if tonumber(until_ms) > now then return out('admitted', position, 0, until_ms) end
    return out('lapsed')
  end
  if position then
    local ahead = redis.call('ZCOUNT', K_POS, '(' .. num(q.serving), '(' .. position)
    return out('waiting', position, ahead, nil, q.paused == '1' and 'paused' or '')
  end
  if redis.call('ZSCORE', K_PRE, user) then return out('prequeue') end
  if redis.call('HEXISTS', K_LAPSED, user) == 1 then return out('lapsed') end
  return out('none')
end
