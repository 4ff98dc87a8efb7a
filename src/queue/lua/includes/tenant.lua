-- Tenant lanes. Every tenant with jobs ready has its own list (lane prefix .. tenantId; new jobs
-- at the left, the next to claim at the right) and is in exactly one of the rotation (a list,
-- served from the left, re-joined at the right) or the capped set (at its max-inflight).
-- Lane keys are built here from the prefix the caller passes (as BullMQ builds its job keys):
-- fine on one Redis and on Upstash, like every other key of the queue, which share no hash tag.
--
-- The tenant a raw job belongs to. The fast path reads the "tenantId" key as JSON.stringify and
-- cjson write it (a quote inside a JSON string is always escaped, so the pattern cannot match
-- inside a value); anything else is decoded. '' when the job names no tenant: such a payload
-- still reaches claim, which dead-letters what is not a job.
local function job_tenant(raw)
  local t = string.match(raw, '"tenantId":"([^"\\]*)"')
  if t then return t end
  local ok, job = pcall(cjson.decode, raw)
  if ok and type(job) == 'table' and type(job.tenantId) == 'string' then return job.tenantId end
  return ''
end

-- Group raw jobs by tenant, keeping their order within each tenant. Returns groups (tenant →
-- raws) and the tenants in order of first appearance.
local function by_tenant(raws)
  local groups, order = {}, {}
  for _, raw in ipairs(raws) do
    local t = job_tenant(raw)
    local g = groups[t]
    if not g then
      g = {}
      groups[t] = g
      order[#order + 1] = t
    end
    g[#g + 1] = raw
  end
  return groups, order
end

-- LPUSH/RPUSH a long list of values in chunks (unpack has a stack limit); returns the length.
local function push_all(command, key, values)
  local length = 0
  for i = 1, #values, 1000 do
    length = redis.call(command, key, unpack(values, i, math.min(i + 999, #values)))
  end
  return length
end

-- Tenants whose released jobs went back to an empty lane rejoin the rotation at the FRONT, in
-- the order given: those jobs had already waited their turn.
local function join_rotation_front(rotation_key, tenants)
  if #tenants == 0 then return end
  local reversed = {}
  for i = #tenants, 1, -1 do reversed[#reversed + 1] = tenants[i] end
  push_all('LPUSH', rotation_key, reversed)
end

-- Put jobs (oldest first) at the end of their tenants' lanes; a tenant whose lane was empty
-- joins the rotation at the back, so it is served after one turn of each tenant ahead of it
-- (each turn at most that tenant's weight: a backlog does not make anyone wait for all of it).
-- Returns how many tenants joined: enqueue wakes an idle consumer only then, since a consumer
-- goes idle only once it found the rotation empty.
local function route_to_lanes(raws, lane_prefix, rotation_key)
  local groups, order = by_tenant(raws)
  local newcomers = {}
  for _, t in ipairs(order) do
    local g = groups[t]
    if push_all('LPUSH', lane_prefix .. t, g) == #g then newcomers[#newcomers + 1] = t end
  end
  push_all('RPUSH', rotation_key, newcomers)
  return #newcomers
end

-- Take up to `limit` jobs off the arrivals list (the single ready list: what the queue before
-- tenant lanes left there, and the jobs reclaim, promote and dlq-requeue put back), oldest first.
local function take_arrivals(ready_key, limit)
  local newest_first = redis.call('LRANGE', ready_key, -limit, -1)
  local n = #newest_first
  if n == 0 then return newest_first end
  redis.call('LTRIM', ready_key, 0, -n - 1)
  local raws = {}
  for i = n, 1, -1 do raws[#raws + 1] = newest_first[i] end
  return raws
end

-- The max-inflight in a tenant's settings JSON, or nil for none.
local function cap_of(raw)
  if not raw then return nil end
  local ok, v = pcall(cjson.decode, raw)
  local cap = ok and type(v) == 'table' and tonumber(v.maxInflight)
  if cap and cap >= 1 then return math.floor(cap) end
  return nil
end

-- Jobs that left flight (acked, failed, released) give their tenants' slots back: for a tenant
-- with a cap (only those are counted) the inflight count drops, and if it was parked at its cap
-- it rejoins the rotation, waking an idle consumer for it. With no tenant settings at all this
-- costs one command. `k` = { tenant inflight hash, capped set, rotation, wake marker, config }.
local function free_slots(k, raws)
  if #raws == 0 or redis.call('HLEN', k[5]) == 0 then return end
  local groups, order = by_tenant(raws)
  local settings = redis.call('HMGET', k[5], unpack(order))
  local woke = false
  for i, t in ipairs(order) do
    if cap_of(settings[i]) then
      if redis.call('HINCRBY', k[1], t, -#groups[t]) <= 0 then redis.call('HDEL', k[1], t) end
      if redis.call('SREM', k[2], t) == 1 then
        redis.call('RPUSH', k[3], t)
        woke = true
      end
    end
  end
  if woke then redis.call('ZADD', k[4], 0, 'ready') end
end

-- How many jobs of `tenant` the inflight records hold (the truth the counts are kept from).
local function count_inflight(inflight_key, tenant)
  local records = redis.call('HVALS', inflight_key)
  local n = 0
  for _, rec in ipairs(records) do
    local raw = string.match(rec, '^[^|]*|%d+|%d+|(.*)$')
    if raw and job_tenant(raw) == tenant then n = n + 1 end
  end
  return n
end
