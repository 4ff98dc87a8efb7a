--[[
  replica-leave: a replica that stops cleanly leaves the live set at once, so the others take
  its share without waiting for its heartbeat to expire.

  KEYS[1] replicas zset   KEYS[2] replicas hash
  ARGV[1] replica id

  Returns 1 when it was a member, 0 otherwise.
]]
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
