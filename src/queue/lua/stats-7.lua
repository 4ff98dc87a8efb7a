--[[
  stats: queue depths and ages in one read. Ready counts the arrivals (the ready list) and every
  tenant's lane; the oldest ready job is the oldest at the front of any of them.

  KEYS[1] ready list   KEYS[2] processing list   KEYS[3] inflight hash   KEYS[4] delayed zset
  KEYS[5] dlq list     KEYS[6] tenant rotation list   KEYS[7] capped tenants set
  ARGV[1] lane key prefix

  Returns { now, ready, processing, inflight, delayed, dlq, oldestReadyEnqueuedAt (-1),
            nextRetryAt (-1) }.
]]
-- @include now

local oldest = -1
local function consider(key)
  local tail = redis.call('LINDEX', key, -1)
  if not tail then return end
  local ok, job = pcall(cjson.decode, tail)
  if ok and type(job) == 'table' and tonumber(job.enqueuedAt) then
    local at = tonumber(job.enqueuedAt)
    if oldest < 0 or at < oldest then oldest = at end
  end
end

local ready = redis.call('LLEN', KEYS[1])
consider(KEYS[1])
local tenants = redis.call('LRANGE', KEYS[6], 0, -1)
for _, t in ipairs(redis.call('SMEMBERS', KEYS[7])) do tenants[#tenants + 1] = t end
local seen = {}
for _, t in ipairs(tenants) do
  if not seen[t] then
    seen[t] = true
    ready = ready + redis.call('LLEN', ARGV[1] .. t)
    consider(ARGV[1] .. t)
  end
end
local next_due = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {
  now_ms(),
  ready,
  redis.call('LLEN', KEYS[2]),
  redis.call('HLEN', KEYS[3]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('LLEN', KEYS[5]),
  oldest,
  next_due[2] and tonumber(next_due[2]) or -1,
}
