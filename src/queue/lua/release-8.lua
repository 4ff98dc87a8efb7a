--[[
  release: give jobs back without counting an attempt (graceful shutdown, prefetched jobs that
  waited too long). They go to the FRONT of their tenant's lane in the order given, so releasing
  jobs 1, 2, 3 of a tenant has them claimed again as 1, 2, 3, ahead of the tenant's jobs that
  were behind them; a tenant whose lane was empty rejoins the rotation at its front, and a
  waiting consumer is woken.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] tenant rotation list   KEYS[5] wake marker zset   KEYS[6] tenant inflight hash
  KEYS[7] capped tenants set     KEYS[8] tenant config hash
  ARGV[1] lane key prefix   ARGV[2..] pairs: jobId, token (in claim order)

  Returns one integer per pair: 1 released, 0 stale (or the same job named again).
  Errors, before writing anything, when ARGV is not a lane prefix and whole pairs.
]]
-- @include inflight
-- @include tenant

local inflight_key, processing_key, lease_key = KEYS[1], KEYS[2], KEYS[3]
local rotation_key, wake_key = KEYS[4], KEYS[5]
local lane_prefix = ARGV[1]

if #ARGV % 2 ~= 1 then
  return redis.error_reply('release: ARGV must be the lane prefix, then jobId, token pairs')
end

-- Read everything first: which pairs are still held (each job once).
local out, raws, seen = {}, {}, {}
local entries = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local entry = not seen[id] and held(inflight_key, id, ARGV[i + 1])
  if entry then
    seen[id] = true
    entries[#entries + 1] = { id = id, entry = entry }
    raws[#raws + 1] = entry.raw
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end

for _, h in ipairs(entries) do forget_inflight(inflight_key, processing_key, lease_key, h.id, h.entry) end
free_slots({ KEYS[6], KEYS[7], rotation_key, wake_key, KEYS[8] }, raws)

-- Claim takes from the right end of a lane, so a tenant's first job given must end up
-- right-most: push each tenant's jobs right to left.
local groups, order = by_tenant(raws)
local rejoin = {}
for _, t in ipairs(order) do
  local g = groups[t]
  local reversed = {}
  for i = #g, 1, -1 do reversed[#reversed + 1] = g[i] end
  if push_all('RPUSH', lane_prefix .. t, reversed) == #g then rejoin[#rejoin + 1] = t end
end
join_rotation_front(rotation_key, rejoin)
if #raws > 0 then redis.call('ZADD', wake_key, 0, 'ready') end
return out
