"""Lua scripts: each state change of a broadcast is one atomic round trip, shared by every process."""


# Every script here touches the keys of one hash tag only, and gets each of them in KEYS (bot.delivery.keys):
# a broadcast's ({bc:<id>}) or the shared rate's ({rate}). What spans several (a chat's one-second gap, a
# person's follows, the index of broadcasts) is a step of its own in Python, before or after the script.

# KEYS: queue, inflight, broadcast hash, night   ARGV: n, now_ms, lease_ms
# Leases of a dead worker go back to the queue first, so a restart resumes without losing anyone.
# Recipients whose night has ended (NIGHT put them aside) go to the head of the queue: they waited long enough.
# Each may have been delivered (killed after the send; or its answer never reached Redis): it goes again,
# counted as a possible duplicate ("uncertain").
# Every chat taken is leased; the worker then checks each chat's one-second gap (a key per chat, on any node)
# and gives back those that got a message less than a second ago (RELEASE, to the tail).
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
local deadline = now + tonumber(ARGV[3])
for _, chat in ipairs(items) do redis.call('ZADD', KEYS[2], deadline, chat) end
return items
"""

# KEYS: queue, inflight   ARGV: 'head' or 'tail', chat...
# Claims that will not be sent now, back to the queue: to the head in their order (a stopping process, a late
# or held send: the next sender takes them at once instead of after the lease), or to the tail (a chat still in
# its one-second gap: it waits behind the others). Only a chat still ours moves. Returns the chats moved: the
# worker lifts the gap of those it had set it for.
RELEASE = """
local moved = {}
if ARGV[1] == 'tail' then
  for i = 2, #ARGV do
    if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
      redis.call('RPUSH', KEYS[1], ARGV[i])
      table.insert(moved, ARGV[i])
    end
  end
  return moved
end
for i = #ARGV, 2, -1 do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[1], ARGV[i])
    table.insert(moved, ARGV[i])
  end
end
return moved
"""

# KEYS: inflight, broadcast hash, queue, answers applied, chats to make followers
# ARGV: this batch's id, '1' when who received it is to follow its case (a new case's alert), then triples of
# chat, counter ('' for none; "delivered@ru" also counts the language version it got), requeue ('' or chat id)
# One round trip for a batch of answers, applied once: a batch sent again after a timeout (Redis may have
# run it all the same) changes nothing. A chat counts only when it was still ours: a lease that expired
# and went to another worker is not counted twice (CLAIM counted it as possibly twice).
# Whoever received a new case's alert is to follow it: noted here, with the count, and done by the worker after
# (bot.delivery.audiences.Audiences.follow: the consent sets live elsewhere in a cluster), then struck off; what a
# worker that died left noted is done by whoever finishes the broadcast. Returns the chats of this batch still
# noted (on a batch applied before too: its first answer may have been lost).
ACK = """
local fresh = redis.call('SADD', KEYS[4], ARGV[1]) == 1
if fresh then redis.call('EXPIRE', KEYS[4], 300) end
local follow = ARGV[2] == '1'
local noted = {}
for i = 3, #ARGV, 3 do
  local counter = ARGV[i + 1]
  if fresh and redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    local at = string.find(counter, '@', 1, true)
    if at then
      redis.call('HINCRBY', KEYS[2], counter, 1)
      counter = string.sub(counter, 1, at - 1)
    end
    if counter ~= '' then redis.call('HINCRBY', KEYS[2], counter, 1) end
    if ARGV[i + 2] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[i + 2]) end
    if follow and counter == 'delivered' then
      redis.call('SADD', KEYS[5], ARGV[i])
      redis.call('EXPIRE', KEYS[5], 604800)
    end
  end
  if follow and string.sub(counter, 1, 9) == 'delivered' and redis.call('SISMEMBER', KEYS[5], ARGV[i]) == 1 then
    table.insert(noted, ARGV[i])
  end
end
return noted
"""

# KEYS: broadcast hash, queue, inflight, night   ARGV: now (seconds)
# Exactly one caller sees {1}: the one that finishes the broadcast sends the final report (and takes it out of the
# index of active ones after). With only recipients in their night left, it is not done: {2, the first of their
# mornings (ms)}, when it is due again (the worker moves it there in the index; nobody looks at it before).
FINISH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {0} end
if redis.call('LLEN', KEYS[2]) > 0 or redis.call('ZCARD', KEYS[3]) > 0 then return {0} end
local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #first > 0 then return {2, first[2]} end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[1])
return {1}
"""

# KEYS: inflight, night   ARGV: pairs of chat, the end of their night (ms)
# Claimed recipients in their night, for a message that is not urgent: out of the claim, aside until their morning
# (CLAIM queues them again then). Only a chat still ours moves: once, whoever asks. Returns the chats moved (the
# worker lifts their one-second gap).
NIGHT = """
local moved = {}
for i = 1, #ARGV, 2 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
    table.insert(moved, ARGV[i])
  end
end
return moved
"""

# KEYS: queue, inflight, attempts, variant, night, part, chats to make followers   ARGV: chat
# /stop or /forget: the chat out of one broadcast at once, so that no claim moves it between two of its keys.
WITHDRAW = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('SREM', KEYS[7], ARGV[1])
return 1
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

# KEYS: broadcast hash   ARGV: to, stamp field ('' none), now, from...
# Every state change is a compare-and-set: a pause, a cancel and a worker's start never overwrite each other.
# The index of active broadcasts (another slot) follows in Python: added to before a broadcast may run, taken
# from after it ended (bot.delivery.engine.Broadcasts.transition).
TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'state')
for i = 4, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[1])
    if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) end
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
