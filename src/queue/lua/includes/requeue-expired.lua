-- A delivery that ended without ack or fail (lease expired, consumer gone) counts as an
-- attempt: back to the end of the ready list, or to the dead-letter list once the job has had
-- max_attempts deliveries. Returns 'ready' or 'dead'.
local function requeue_counting(ready_key, dlq_key, raw, delivery, reason, max_attempts, now)
  local job = decode_job_json(raw)
  if not job then
    dead_letter(dlq_key, nil, raw, 'malformed_payload', delivery, now)
    return 'dead'
  end
  job.attempt = delivery
  job.lastError = reason
  if delivery >= max_attempts then
    dead_letter(dlq_key, job, raw, reason, delivery, now)
    return 'dead'
  end
  redis.call('LPUSH', ready_key, cjson.encode(job))
  return 'ready'
end
