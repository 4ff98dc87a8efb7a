--[[
  renew: heartbeat. Extend the lease of jobs still held under their token.

  KEYS[1] inflight hash   KEYS[2] lease zset
  ARGV[1] lease TTL ms    ARGV[2..] pairs: jobId, token

  Returns { leaseUntil, r1, r2, ... } with r = 1 renewed, 0 stale (the job is no longer ours).
]]
-- @include now
-- @include inflight

local lease_until = now_ms() + tonumber(ARGV[1])
return (each_held(KEYS[1], ARGV, 2, { lease_until }, function(id)
  redis.call('ZADD', KEYS[2], lease_until, id)
end))
