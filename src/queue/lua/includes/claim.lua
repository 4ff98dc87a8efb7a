-- @include tenant
-- Claim up to `count` jobs, serving tenants in turn. First the arrivals (the single ready list:
-- what the queue before tenant lanes left, and what reclaim, promote and dlq-requeue put back)
-- and the due retries join the end of their tenants' lanes; then tenants are taken from
-- the front of the rotation one at a time, each giving up to its weight in jobs (all that is
-- still wanted when no other tenant waits, and never more than its max-inflight allows), and
-- go to the back of the rotation while their lane holds more. A turn the batch cut short goes
-- on in the next claim (the tenant stays at the front, the jobs it is still owed kept in the
-- turn key), so weights hold for any batch size. A tenant at its cap is parked in
-- the capped set until one of its jobs leaves flight. Each job claimed moves from its lane to
-- the processing list and gets an inflight record (fencing token, delivery number) and a lease,
-- atomically.
--
-- `k` holds the keys ready (arrivals), processing, inflight, lease, dlq, delayed, wake,
-- rotation, capped, tenant inflight, tenant config, turn (in that order); `a` holds count, token
-- prefix, lease TTL ms, woken ('1' when the caller was woken by the marker: pass the wake on if
-- work remains), how many due delayed jobs to promote, the lane key prefix and how many
-- arrivals to sort into lanes at most.
-- Appends now, leaseUntil, nextDelayedAt (-1: none), then jobId, token, delivery, raw per job to
-- `out`. A payload that is not a job, or a job already in flight, goes to the dead-letter list
-- with a reason instead of blocking the queue.
local function claim_jobs(k, a, out)
  local count = tonumber(a[1])
  local lane_prefix = a[6]
  local now = now_ms()
  local lease_until = now + tonumber(a[3])
  out[#out + 1] = now
  out[#out + 1] = lease_until
  out[#out + 1] = -1
  local next_due_at = #out

  -- 1. Arrivals, then retries that are due, join the end of their tenants' lanes.
  local arriving = take_arrivals(k[1], tonumber(a[7]))
  local due = redis.call('ZRANGEBYSCORE', k[6], '-inf', now, 'LIMIT', 0, tonumber(a[5]))
  if #due > 0 then
    for i = 1, #due, 1000 do redis.call('ZREM', k[6], unpack(due, i, math.min(i + 999, #due))) end
    for _, raw in ipairs(due) do arriving[#arriving + 1] = raw end
  end
  if #arriving > 0 then route_to_lanes(arriving, lane_prefix, k[8]) end

  -- 2. Serve the rotation.
  local configured = redis.call('HLEN', k[11]) > 0
  local configs, used, claimed_by, claimed_order = {}, {}, {}, {}
  local function config_of(t)
    local c = configs[t]
    if c then return c end
    c = { weight = 1 }
    local raw = configured and redis.call('HGET', k[11], t)
    if raw then
      local ok, v = pcall(cjson.decode, raw)
      if ok and type(v) == 'table' then
        if tonumber(v.weight) and tonumber(v.weight) >= 1 then c.weight = math.floor(tonumber(v.weight)) end
        if tonumber(v.maxInflight) and tonumber(v.maxInflight) >= 1 then c.cap = math.floor(tonumber(v.maxInflight)) end
      end
    end
    configs[t] = c
    return c
  end

  -- The turn a batch cut short: "jobs still owed|tenant".
  local turn = redis.call('GET', k[12])
  local owed, owed_to
  if turn then
    local n, t = string.match(turn, '^(%d+)|(.*)$')
    owed, owed_to = tonumber(n), t
  end
  local next_turn

  local leases = {}
  local claimed, pops = 0, 0
  local waiting = redis.call('LLEN', k[8])
  while claimed < count and waiting > 0 and pops < count + 100 do
    -- The tenant at the front moves to the back at once (its turn is taken); it is removed from
    -- there if it leaves or is parked, and put back in front if the batch cuts its turn short.
    local t = redis.call('LMOVE', k[8], k[8], 'LEFT', 'RIGHT')
    if not t then break end
    local others = waiting - 1
    local c = config_of(t)
    local room = count - claimed
    if c.cap then
      used[t] = used[t] or tonumber(redis.call('HGET', k[10], t)) or 0
      room = math.min(room, c.cap - used[t])
    end
    local lane = lane_prefix .. t
    if room <= 0 then
      redis.call('RPOP', k[8])
      redis.call('SADD', k[9], t)
      waiting = others
    else
      local quantum = c.weight
      if owed_to == t then
        quantum = math.min(quantum, math.max(1, owed))
        owed_to = nil
      end
      -- Alone in the rotation, a tenant takes all that is wanted: no one is waiting for a turn.
      local take = room
      if others > 0 then take = math.min(take, quantum) end
      local newest_first, more
      if take == 1 then
        local raw = redis.call('LMOVE', lane, k[2], 'RIGHT', 'LEFT')
        newest_first = raw and { raw } or {}
        more = raw and redis.call('LLEN', lane) > 0
      else
        -- One more than taken tells whether the lane holds more.
        newest_first = redis.call('LRANGE', lane, -take - 1, -1)
        more = #newest_first > take
        if more then table.remove(newest_first, 1) end
        if #newest_first > 0 then
          redis.call('LTRIM', lane, 0, -#newest_first - 1)
          push_all('LPUSH', k[2], newest_first)
        end
      end
      for i = #newest_first, 1, -1 do
        local raw = newest_first[i]
        pops = pops + 1
        local job = decode_job_json(raw)
        if not job then
          redis.call('LREM', k[2], 1, raw)
          dead_letter(k[5], nil, raw, 'malformed_payload', 0, now)
        else
          local delivery = (tonumber(job.attempt) or 0) + 1
          local token = a[2] .. '.' .. claimed
          if redis.call('HSETNX', k[3], job.jobId, token .. '|' .. delivery .. '|' .. now .. '|' .. raw) == 1 then
            claimed = claimed + 1
            leases[#leases + 1] = lease_until
            leases[#leases + 1] = job.jobId
            -- Jobs in flight are counted for the tenants that have a cap.
            if c.cap then
              if not claimed_by[t] then
                claimed_by[t] = 0
                claimed_order[#claimed_order + 1] = t
              end
              claimed_by[t] = claimed_by[t] + 1
              used[t] = used[t] + 1
            end
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
      if not more then
        redis.call('RPOP', k[8])
        waiting = others
      elseif c.cap and used[t] >= c.cap then
        redis.call('RPOP', k[8])
        redis.call('SADD', k[9], t)
        waiting = others
      elseif others > 0 and claimed >= count and #newest_first < quantum then
        redis.call('LMOVE', k[8], k[8], 'RIGHT', 'LEFT')
        next_turn = (quantum - #newest_first) .. '|' .. t
      end
    end
  end
  if next_turn then
    redis.call('SET', k[12], next_turn)
  elseif turn then
    redis.call('DEL', k[12])
  end
  push_all('ZADD', k[4], leases)
  for _, t in ipairs(claimed_order) do redis.call('HINCRBY', k[10], t, claimed_by[t]) end

  if claimed < count then
    local next_due = redis.call('ZRANGE', k[6], 0, 0, 'WITHSCORES')
    if next_due[2] then out[next_due_at] = tonumber(next_due[2]) end
  elseif a[4] == '1' and (waiting > 0 or redis.call('LLEN', k[1]) > 0) then
    redis.call('ZADD', k[7], 0, 'ready')
  end
  return out
end
