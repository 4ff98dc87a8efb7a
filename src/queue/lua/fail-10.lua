--[[
  fail: the delivery failed. Retry later through the delayed set (exponential backoff with
  jitter, never sooner than the provider's Retry-After), or dead-letter when the job has had
  max attempts or the failure is permanent. Fenced like ack. A retry that comes due joins the
  end of its tenant's lane (claim promotes it).

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] delayed zset    KEYS[5] dlq list          KEYS[6] wake marker zset
  KEYS[7] tenant inflight hash   KEYS[8] capped tenants set   KEYS[9] tenant rotation list
  KEYS[10] tenant config hash
  ARGV[1] jobId  ARGV[2] token  ARGV[3] error (short, no email content)
  ARGV[4] 'retry' or 'dead'  ARGV[5] max attempts  ARGV[6] backoff base ms  ARGV[7] backoff max ms
  ARGV[8] jitter in [0,1] (from the client: script randomness is not to be relied on)
  ARGV[9] minimum delay ms (Retry-After), 0 for none

  Returns { 'retry', dueAt } | { 'dead', attempts } | { 'stale' }.
]]
-- @include now
-- @include inflight
-- @include dead-letter
-- @include tenant

local entry = held(KEYS[1], ARGV[1], ARGV[2])
if not entry then return { 'stale' } end

local now = now_ms()
forget_inflight(KEYS[1], KEYS[2], KEYS[3], ARGV[1], entry)
free_slots({ KEYS[7], KEYS[8], KEYS[9], KEYS[6], KEYS[10] }, { entry.raw })

local job = decode_job_json(entry.raw)
job.attempt = entry.delivery
job.lastError = ARGV[3]
if ARGV[4] == 'dead' or entry.delivery >= tonumber(ARGV[5]) then
  dead_letter(KEYS[5], job, entry.raw, ARGV[3], entry.delivery, now)
  return { 'dead', entry.delivery }
end

local backoff = math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ (entry.delivery - 1))
local delay = math.max(math.floor(backoff / 2 + backoff / 2 * tonumber(ARGV[8])), tonumber(ARGV[9]))
local due = now + delay
redis.call('ZADD', KEYS[4], due, cjson.encode(job))
-- A consumer blocked on the marker wakes when the retry is due ('LT' keeps the earliest).
redis.call('ZADD', KEYS[6], 'LT', due, 'delayed')
return { 'retry', due }
