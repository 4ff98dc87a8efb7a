-- Claim up to `count` jobs: each moves from the ready list to the processing list and gets an
-- inflight record (fencing token, delivery number) and a lease, atomically. `k` holds the keys
-- ready, processing, inflight, lease, dlq, delayed, wake (in that order); `a` holds count, token
-- prefix, lease TTL ms, woken ('1' when the caller was woken by the marker: pass the wake on if
-- work remains) and how many due delayed jobs to promote when the ready list runs dry.
-- Appends now, leaseUntil, nextDelayedAt (-1: none), then jobId, token, delivery, raw per job to
-- `out`. A payload that is not a job, or a job already in flight, goes to the dead-letter list
-- with a reason instead of blocking the queue.
local function claim_jobs(k, a, out)
  local count = tonumber(a[1])
  local now = now_ms()
  local lease_until = now + tonumber(a[3])
  out[#out + 1] = now
  out[#out + 1] = lease_until
  out[#out + 1] = -1
  local next_due_at = #out
  local claimed, pops, promoted = 0, 0, false

  while claimed < count and pops < count + 100 do
    local raw = redis.call('LMOVE', k[1], k[2], 'RIGHT', 'LEFT')
    if not raw then
      if promoted then break end
      promoted = true
      local due = redis.call('ZRANGEBYSCORE', k[6], '-inf', now, 'LIMIT', 0, tonumber(a[5]))
      if #due == 0 then break end
      redis.call('ZREM', k[6], unpack(due))
      redis.call('LPUSH', k[1], unpack(due))
    else
      pops = pops + 1
      local job = decode_job(raw)
      if not job then
        redis.call('LREM', k[2], 1, raw)
        dead_letter(k[5], nil, raw, 'malformed_payload', 0, now)
      else
        local delivery = (tonumber(job.attempt) or 0) + 1
        local token = a[2] .. '.' .. claimed
        if redis.call('HSETNX', k[3], job.jobId, token .. '|' .. delivery .. '|' .. now .. '|' .. raw) == 1 then
          redis.call('ZADD', k[4], lease_until, job.jobId)
          claimed = claimed + 1
          out[#out + 1] = job.jobId
          out[#out + 1] = token
          out[#out + 1] = delivery
          out[#out + 1] = raw
        else
          redis.call('LREM', k[2], 1, raw)
          dead_letter(k[5], job, raw, 'duplicate_job_in_flight', delivery - 1, now)
        end
      end
    end
  end

  if claimed < count then
    local next_due = redis.call('ZRANGE', k[6], 0, 0, 'WITHSCORES')
    if next_due[2] then out[next_due_at] = tonumber(next_due[2]) end
  elseif a[4] == '1' and redis.call('LLEN', k[1]) > 0 then
    redis.call('ZADD', k[7], 0, 'ready')
  end
  return out
end
