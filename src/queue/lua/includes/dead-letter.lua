-- Push a dead-letter record that keeps everything needed to understand and redrive the job.
-- `job` may be nil for a payload that is not a job at all; then the raw payload is kept.
local function dead_letter(dlq_key, job, raw, reason, attempts, now)
  local id
  if job then id = job.jobId else id = 'malformed:' .. redis.sha1hex(raw) end
  local record = {
    id = id,
    reason = reason,
    attempts = attempts,
    lastError = (job and job.lastError) or reason,
    enqueuedAt = job and job.enqueuedAt or cjson.null,
    deadAt = now,
  }
  if job then record.job = job else record.payload = raw end
  redis.call('LPUSH', dlq_key, cjson.encode(record))
  return id
end
