--[[
  replica-heartbeat: a consumer replica says it is alive, and learns which replicas are. Each
  replica is a member of a sorted set scored by when its heartbeat expires (the Redis server's
  clock); expired members are removed here, by whichever replica beats next.

  KEYS[1] replicas zset (replica id → expiry ms)   KEYS[2] replicas hash (replica id → capacity)
  ARGV[1] replica id   ARGV[2] TTL ms
  ARGV[3] capacity: the most IMAP mailboxes it takes ('any': no cap; 0: none, its listener is off)

  Returns { now, id1, capacity1, id2, capacity2, ... }: every live replica, the caller included,
  in id order.
]]
-- @include now

local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(expired))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(live)
local out = { now }
for _, id in ipairs(live) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or 'any'
end
return out
