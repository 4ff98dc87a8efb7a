--[[
  tenant-stats: each tenant's backlog, oldest ready job, jobs in flight (counted from the
  inflight records) and settings. Arrivals are sorted into their lanes first (the step every
  claim begins with), so the figures include them.

  KEYS[1] ready list (arrivals)   KEYS[2] tenant rotation list   KEYS[3] capped tenants set
  KEYS[4] inflight hash           KEYS[5] tenant config hash
  ARGV[1] lane key prefix   ARGV[2] how many arrivals to sort at most

  Returns { now, arrivals left unsorted, then per tenant: tenantId, ready,
            oldestReadyEnqueuedAt (-1), inflight, capped (1/0), config JSON ('' for defaults) }.
]]
-- @include now
-- @include tenant

local arriving = take_arrivals(KEYS[1], tonumber(ARGV[2]))
if #arriving > 0 then route_to_lanes(arriving, ARGV[1], KEYS[2]) end

local tenants, seen = {}, {}
local function add(t)
  if not seen[t] then
    seen[t] = true
    tenants[#tenants + 1] = t
  end
end
for _, t in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do add(t) end
local capped = {}
for _, t in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  capped[t] = true
  add(t)
end
local inflight = {}
for _, rec in ipairs(redis.call('HVALS', KEYS[4])) do
  local raw = string.match(rec, '^[^|]*|%d+|%d+|(.*)$')
  if raw then
    local t = job_tenant(raw)
    inflight[t] = (inflight[t] or 0) + 1
    add(t)
  end
end
local configs = redis.call('HGETALL', KEYS[5])
local config = {}
for i = 1, #configs, 2 do
  config[configs[i]] = configs[i + 1]
  add(configs[i])
end

local out = { now_ms(), redis.call('LLEN', KEYS[1]) }
for _, t in ipairs(tenants) do
  local lane = ARGV[1] .. t
  local oldest = -1
  local tail = redis.call('LINDEX', lane, -1)
  if tail then
    local ok, job = pcall(cjson.decode, tail)
    if ok and type(job) == 'table' and tonumber(job.enqueuedAt) then oldest = tonumber(job.enqueuedAt) end
  end
  out[#out + 1] = t
  out[#out + 1] = redis.call('LLEN', lane)
  out[#out + 1] = oldest
  out[#out + 1] = math.max(0, inflight[t] or 0)
  out[#out + 1] = capped[t] and 1 or 0
  out[#out + 1] = config[t] or ''
end
return out
