--[[
  renew: heartbeat. Extend the lease of jobs still held under their token.

  KEYS[1] inflight hash   KEYS[2] lease zset
  ARGV[1] lease TTL ms    ARGV[2..] pairs: jobId, token

  Returns { leaseUntil, r1, r2, ... } with r = 1 renewed, 0 stale (the job is no longer ours).
]]
-- @include now
-- @include inflight

local lease_until = now_ms() + tonumber(ARGV[1])
local out = { lease_until }
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local entry = held(KEYS[1], id, token)
  if entry then
    redis.call('ZADD', KEYS[2], lease_until, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
