--[[
  claim: move up to `count` jobs from the ready list to the processing list, each with an
  inflight record (fencing token, delivery number) and a lease, in one atomic step.

  KEYS[1] ready list   KEYS[2] processing list   KEYS[3] inflight hash   KEYS[4] lease zset
  KEYS[5] dlq list     KEYS[6] delayed zset      KEYS[7] wake marker zset
  ARGV[1] count        ARGV[2] token prefix (unique per call)   ARGV[3] lease TTL ms
  ARGV[4] '1' when the caller was woken by the marker (then pass the wake on if work remains)
  ARGV[5] how many due delayed jobs to promote when the ready list runs dry

  Returns { now, leaseUntil, nextDelayedAt (-1: none), jobId1, token1, delivery1, raw1, ... }.
  A payload that is not a job, or a job already in flight, goes to the dead-letter list with a
  reason instead of blocking the queue.
]]
-- @include now
-- @include inflight
-- @include dead-letter

local count = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local now = now_ms()
local lease_until = now + ttl
local out = { now, lease_until, -1 }
local claimed, pops, promoted = 0, 0, false

while claimed < count and pops < count + 100 do
  local raw = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not raw then
    if promoted then break end
    promoted = true
    local due = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
    if #due == 0 then break end
    redis.call('ZREM', KEYS[6], unpack(due))
    redis.call('LPUSH', KEYS[1], unpack(due))
  else
    pops = pops + 1
    local job = decode_job(raw)
    if not job then
      redis.call('LREM', KEYS[2], 1, raw)
      dead_letter(KEYS[5], nil, raw, 'malformed_payload', 0, now)
    else
      local delivery = (tonumber(job.attempt) or 0) + 1
      local token = ARGV[2] .. '.' .. claimed
      if redis.call('HSETNX', KEYS[3], job.jobId, token .. '|' .. delivery .. '|' .. now .. '|' .. raw) == 1 then
        redis.call('ZADD', KEYS[4], lease_until, job.jobId)
        claimed = claimed + 1
        out[#out + 1] = job.jobId
        out[#out + 1] = token
        out[#out + 1] = delivery
        out[#out + 1] = raw
      else
        redis.call('LREM', KEYS[2], 1, raw)
        dead_letter(KEYS[5], job, raw, 'duplicate_job_in_flight', delivery - 1, now)
      end
    end
  end
end

if claimed < count then
  local next_due = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if next_due[2] then out[3] = tonumber(next_due[2]) end
elseif ARGV[4] == '1' and redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[7], 0, 'ready')
end
return out
