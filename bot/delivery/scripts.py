"""Lua scripts: each state change of a broadcast is one atomic round trip, shared by every process."""

# KEYS: queue, inflight, broadcast hash, night   ARGV: n, now_ms, lease_ms, cool_prefix, cool_ms
# Leases of a dead worker go back to the queue first, so a restart resumes without losing anyone.
# Recipients whose night has ended (NIGHT put them aside) go to the head of the queue: they waited long enough.
# Each may have been delivered (killed after the send; or its answer never reached Redis): it goes again,
# counted as a possible duplicate ("uncertain").
# A chat that got a message less than cool_ms ago waits at the tail: at most one message a second.
CLAIM = """
local now = tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, chat in ipairs(expired) do
  redis.call('ZREM', KEYS[2], chat)
  redis.call('LPUSH', KEYS[1], chat)
end
if #expired > 0 then redis.call('HINCRBY', KEYS[3], 'uncertain', #expired) end
local woke = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
for _, chat in ipairs(woke) do
  redis.call('ZREM', KEYS[4], chat)
  redis.call('LPUSH', KEYS[1], chat)
end
local items = redis.call('LPOP', KEYS[1], ARGV[1])
if not items then return {} end
local claimed = {}
local deferred = {}
for _, chat in ipairs(items) do
  if redis.call('SET', ARGV[4] .. chat, '1', 'NX', 'PX', ARGV[5]) then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), chat)
    table.insert(claimed, chat)
  else
    table.insert(deferred, chat)
  end
end
for _, chat in ipairs(deferred) do redis.call('RPUSH', KEYS[1], chat) end
return claimed
"""

# KEYS: queue, inflight   ARGV: cool_prefix, chat...
# Claims a stopping process will not send: back to the head of the queue in their order, their
# one-second gap lifted, so the next sender takes them at once instead of after the lease.
RELEASE = """
local released = 0
for i = #ARGV, 2, -1 do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[1], ARGV[i])
    redis.call('DEL', ARGV[1] .. ARGV[i])
    released = released + 1
  end
end
return released
"""

# KEYS: inflight, broadcast hash, queue, answers applied[, followers, alert subscribers, then per triple:
# the user's follows]
# ARGV: this batch's id, case to follow ('' for none), then triples of chat, counter ('' for none; "delivered@ru"
# also counts the language version it got), requeue ('' or chat id)
# One round trip for a batch of answers, applied once: a batch sent again after a timeout (Redis may have
# run it all the same) changes nothing. A chat counts only when it was still ours: a lease that expired
# and went to another worker is not counted twice (CLAIM counted it as possibly twice). Whoever received
# a new case's alert follows it (bot.delivery.audiences), if they still get alerts now: someone who sent /stop, turned alerts
# off, blocked the bot or /forgot meanwhile is no longer in that set and follows nothing.
# Returns how many counted.
ACK = """
if redis.call('SADD', KEYS[4], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[4], 300)
local follow = ARGV[2]
local counted = 0
local j = 0
for i = 3, #ARGV, 3 do
  j = j + 1
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    counted = counted + 1
    local counter = ARGV[i + 1]
    local at = string.find(counter, '@', 1, true)
    if at then
      redis.call('HINCRBY', KEYS[2], counter, 1)
      counter = string.sub(counter, 1, at - 1)
    end
    if counter ~= '' then redis.call('HINCRBY', KEYS[2], counter, 1) end
    if ARGV[i + 2] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[i + 2]) end
    if follow ~= '' and counter == 'delivered' and redis.call('SISMEMBER', KEYS[6], ARGV[i]) == 1 then
      redis.call('SADD', KEYS[5], ARGV[i])
      redis.call('SADD', KEYS[6 + j], follow)
    end
  end
end
return counted
"""

# KEYS: broadcast hash, queue, inflight, active zset, night   ARGV: id, now (seconds)
# Exactly one caller sees 1: the one that finishes the broadcast sends the final report. With only recipients in
# their night left, it is not done: it is due again at the first of their mornings (2; nobody looks at it before).
FINISH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
if redis.call('LLEN', KEYS[2]) > 0 or redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
if #first > 0 then
  redis.call('ZADD', KEYS[4], 'XX', first[2], ARGV[1])
  return 2
end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

# KEYS: inflight, night   ARGV: cool_prefix, then pairs of chat, the end of their night (ms)
# Claimed recipients in their night, for a message that is not urgent: out of the claim, aside until their morning
# (CLAIM queues them again then), their one-second gap lifted. Only a chat still ours moves: once, whoever asks.
NIGHT = """
local moved = 0
for i = 2, #ARGV, 2 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
    redis.call('DEL', ARGV[1] .. ARGV[i])
    moved = moved + 1
  end
end
return moved
"""

# KEYS: tat, pause, slow   ARGV: now_ms, interval_ms, n, recover_ms
# Reserve n sends on the shared clock (GCRA): returns how long to wait before the first of them and the interval
# between them (as a string: Lua would cut a number to an integer). A pause set after a 429 holds every process
# ({-left, ''}). After a 429 the rate is cut (slow: the cut's depth, 0.2 for a fifth) and climbs back as the cut's
# time to live runs out: full rate again after recover_ms without a 429.
RESERVE = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {-paused, ''} end
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local depth = tonumber(redis.call('GET', KEYS[3]) or '0')
local left = redis.call('PTTL', KEYS[3])
if depth > 0 and left > 0 then interval = interval / (1 - depth * left / tonumber(ARGV[4])) end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local after = tat + interval * tonumber(ARGV[3])
redis.call('SET', KEYS[1], after, 'PX', math.ceil(after - now) + 60000)
return {math.floor(tat - now), tostring(interval)}
"""

# KEYS: slow, pause   ARGV: recover_ms, keep (0.8: a 429 cuts the rate now in force by a fifth), pause_ms
# Every sender waits pause_ms (a 429's retry_after; a pause only ever grows). Only the 429 that starts a pause cuts
# the rate: the sends already on their way when it came, each answered 429 too, are the same event, not a hundred.
# What is left of an earlier cut counts: two 429s close together cut deeper than one.
SLOW_DOWN = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then
  if tonumber(ARGV[3]) > pause then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
  return tostring(redis.call('GET', KEYS[1]) or '0')
end
redis.call('SET', KEYS[2], 1, 'PX', ARGV[3])
local depth = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if left > 0 then depth = depth * left / tonumber(ARGV[1]) else depth = 0 end
depth = 1 - (1 - depth) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], depth, 'PX', ARGV[1])
return tostring(depth)
"""

# KEYS: broadcast hash, active zset   ARGV: to, stamp field ('' none), now, active ('' | 'rem' | score), id, from...
# Every state change is a compare-and-set: a pause, a cancel and a worker's start never overwrite each other.
TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'state')
for i = 6, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[1])
    if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) end
    if ARGV[4] == 'rem' then
      redis.call('ZREM', KEYS[2], ARGV[5])
    elseif ARGV[4] ~= '' then
      redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
    end
    return 1
  end
end
return 0
"""

# KEYS: queue, preparer lease   ARGV: token, lease_ms, reset ('1' empties the queue first), chat...
# A batch of the audience copy goes in only while this process still holds the lease (and renews
# it): a copy that was taken over stops instead of queueing people twice, or emptying the queue
# its successor is filling. Returns 0 when it lost the lease.
PREPARE_PUSH = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
if #ARGV > 3 then redis.call('RPUSH', KEYS[1], unpack(ARGV, 4)) end
return 1
"""
