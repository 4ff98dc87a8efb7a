--[[
  stats: queue depths and ages in one read.

  KEYS[1] ready list   KEYS[2] processing list   KEYS[3] inflight hash   KEYS[4] delayed zset
  KEYS[5] dlq list

  Returns { now, ready, processing, inflight, delayed, dlq, oldestReadyEnqueuedAt (-1),
            nextRetryAt (-1) }.
]]
-- @include now

local oldest = -1
local tail = redis.call('LINDEX', KEYS[1], -1)
if tail then
  local ok, job = pcall(cjson.decode, tail)
  if ok and type(job) == 'table' and tonumber(job.enqueuedAt) then oldest = tonumber(job.enqueuedAt) end
end
local next_due = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {
  now_ms(),
  redis.call('LLEN', KEYS[1]),
  redis.call('LLEN', KEYS[2]),
  redis.call('HLEN', KEYS[3]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('LLEN', KEYS[5]),
  oldest,
  next_due[2] and tonumber(next_due[2]) or -1,
}
