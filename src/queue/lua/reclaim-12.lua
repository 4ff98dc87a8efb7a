--[[
  reclaim: the periodic repair (Cron Trigger, and consumers now and then). It
  1. returns jobs whose lease expired to the ready list, counting the attempt (dead-letter at
     max attempts), so a message that kills its consumer cannot loop forever;
  2. repairs what no lease covers: inflight records without a lease, and processing entries
     without an inflight record (written by hand, or left by a bug) are treated the same way;
  3. promotes delayed retries that are due;
  4. forgets expired dedupe keys;
  5. recounts the jobs in flight of each tenant with a cap from the inflight records (so a count
     can never drift: jobs claimed before tenant lanes, or by an older consumer, are counted too)
     and returns the capped tenants to the rotation, where claim parks again those still at
     their cap.
  Jobs go back to the ready list (the arrivals), so they join the end of their tenant's lane at
  the next claim.

  KEYS[1] ready list   KEYS[2] processing list   KEYS[3] inflight hash   KEYS[4] lease zset
  KEYS[5] delayed zset KEYS[6] dlq list          KEYS[7] wake marker     KEYS[8] dedupe zset
  KEYS[9] tenant rotation list   KEYS[10] capped tenants set   KEYS[11] tenant inflight hash
  KEYS[12] tenant config hash
  ARGV[1] max attempts   ARGV[2] most jobs to move per step

  Returns { now, requeued, deadLettered, repaired, promoted, movedIds... } where movedIds are
  the jobIds taken back from expired or missing leases (for the reclaim log line).
]]
-- @include now
-- @include inflight
-- @include dead-letter
-- @include requeue-expired
-- @include tenant

local max_attempts = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local now = now_ms()
local requeued, dead, repaired, promoted = 0, 0, 0, 0
local moved = {}

local function count(result)
  if result == 'ready' then requeued = requeued + 1 else dead = dead + 1 end
end

-- 1. expired leases
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[4], id)
  local rec = redis.call('HGET', KEYS[3], id)
  local entry = rec and parse_inflight(rec)
  if entry then
    redis.call('HDEL', KEYS[3], id)
    redis.call('LREM', KEYS[2], 1, entry.raw)
    count(requeue_counting(KEYS[1], KEYS[6], entry.raw, entry.delivery, 'lease_expired', max_attempts, now))
    moved[#moved + 1] = id
  elseif rec then
    redis.call('HDEL', KEYS[3], id)
  end
end

-- 2a. inflight records that no lease covers
local inflight = redis.call('HGETALL', KEYS[3])
for i = 1, math.min(#inflight, limit * 2), 2 do
  local id, rec = inflight[i], inflight[i + 1]
  if not redis.call('ZSCORE', KEYS[4], id) then
    redis.call('HDEL', KEYS[3], id)
    local entry = parse_inflight(rec)
    if entry then
      redis.call('LREM', KEYS[2], 1, entry.raw)
      count(requeue_counting(KEYS[1], KEYS[6], entry.raw, entry.delivery, 'lease_missing', max_attempts, now))
      moved[#moved + 1] = id
    end
    repaired = repaired + 1
  end
end

-- 2b. processing entries with no inflight record (the job was never handed out under a lease)
local processing = redis.call('LRANGE', KEYS[2], 0, limit - 1)
for _, raw in ipairs(processing) do
  local job = decode_job_json(raw)
  local rec = job and redis.call('HGET', KEYS[3], job.jobId)
  local entry = rec and parse_inflight(rec)
  if not entry or entry.raw ~= raw then
    redis.call('LREM', KEYS[2], 1, raw)
    local delivery = ((job and tonumber(job.attempt)) or 0) + 1
    count(requeue_counting(KEYS[1], KEYS[6], raw, delivery, 'lease_missing', max_attempts, now))
    if job then moved[#moved + 1] = job.jobId end
    repaired = repaired + 1
  end
end

-- 3. due retries
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, limit)
if #due > 0 then
  redis.call('ZREM', KEYS[5], unpack(due))
  redis.call('LPUSH', KEYS[1], unpack(due))
  promoted = #due
end

-- 4. dedupe keys past their TTL
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)

-- 5. capped tenants' jobs in flight, counted again; capped tenants back in the rotation
if redis.call('HLEN', KEYS[3]) <= limit then
  local settings = redis.call('HGETALL', KEYS[12])
  local capped_tenant = {}
  for i = 1, #settings, 2 do
    if cap_of(settings[i + 1]) then capped_tenant[settings[i]] = true end
  end
  local raws = {}
  for _, rec in ipairs(redis.call('HVALS', KEYS[3])) do
    local entry = parse_inflight(rec)
    if entry then raws[#raws + 1] = entry.raw end
  end
  local groups, order = by_tenant(raws)
  local counts = {}
  for _, t in ipairs(order) do
    if capped_tenant[t] then
      counts[#counts + 1] = t
      counts[#counts + 1] = #groups[t]
    end
  end
  redis.call('DEL', KEYS[11])
  push_all('HSET', KEYS[11], counts)
end
local capped = redis.call('SMEMBERS', KEYS[10])
local woke = #capped > 0
if woke then
  redis.call('DEL', KEYS[10])
  push_all('RPUSH', KEYS[9], capped)
end

if requeued + promoted > 0 or woke then redis.call('ZADD', KEYS[7], 0, 'ready') end
local out = { now, requeued, dead, repaired, promoted }
for _, id in ipairs(moved) do out[#out + 1] = id end
return out
