--[[
  tenant-set: write (or, with an empty value, clear) one tenant's claim settings, read by claim:
  {"weight": n, "maxInflight": n} (either may be absent: weight 1, no cap). A tenant parked at
  its old cap rejoins the rotation, so a raised or cleared cap applies at the next claim. Jobs in
  flight are counted only for tenants with a cap: a new cap starts from the tenant's jobs in
  flight now (counted from the inflight records), a removed one drops its count.

  KEYS[1] tenant config hash   KEYS[2] capped tenants set   KEYS[3] tenant rotation list
  KEYS[4] wake marker zset     KEYS[5] inflight hash        KEYS[6] tenant inflight hash
  ARGV[1] tenantId   ARGV[2] settings JSON ('' clears them)

  Returns 1 when settings were written or cleared, 0 when there were none to clear.
]]
-- @include tenant

local changed
if cap_of(ARGV[2]) then
  redis.call('HSET', KEYS[6], ARGV[1], count_inflight(KEYS[5], ARGV[1]))
else
  redis.call('HDEL', KEYS[6], ARGV[1])
end
if ARGV[2] == '' then
  changed = redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  changed = 1
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], 0, 'ready')
end
return changed
