--[[
  ingest: the edge's one round trip per notification request. Checks each item against the
  provider registry and writes the pointers that pass, in one atomic step:
    - unknown (or unreadable) registry entry                       → 'unknown'
    - secret hash given and not the registered one (clientState)   → 'forbidden'
    - Gmail historyId at or below the consumer-confirmed cursor    → 'stale'
    - dedupe key seen within its TTL, or earlier in this batch     → 'duplicate'
    - otherwise the job gets the registry's tenantId/providerId    → 'enqueued'
  A request guard (IMAP signature) seen before refuses the whole request: 'replay'.

  Every argument is checked before the first write: Redis does not roll a script back, so a bad
  item fails the whole call (an error reply) with nothing written, never half-way. The staleness
  filter reads only the cursor the consumer confirmed (gmail-cursor script), never a value a
  notification brought: a replayed push cannot make later genuine pushes look stale.

  Enqueued jobs join the end of their tenants' lanes (a tenant whose lane was empty joins the
  tenant rotation at its back, and only then is the wake marker set).

  KEYS[1] tenant rotation list   KEYS[2] wake marker zset   KEYS[3] dedupe zset   KEYS[4] registry hash
  KEYS[5] gmail cursor hash (registry field → historyId the consumer confirmed)
  KEYS[6] counters hash
  ARGV[1] dedupe TTL ms   ARGV[2] request guard key ('' for none)   ARGV[3] provider (for counters)
  ARGV[4] items the edge already dropped as invalid (counted here, so counting costs no extra call)
  ARGV[5] lane key prefix
  ARGV[6..] five per item: registry field, secret hash (''), dedupe key (''), historyId ('' or a
            canonical decimal), job JSON

  Returns { 'replay' } or { outcome1, outcome2, ... } (one per item, in order); an error reply
  'ERR ingest: ...' when an argument is invalid (nothing written).
]]
-- @include now
-- @include decimal
-- @include job-json
-- @include tenant

local function refuse(why) return redis.error_reply('ERR ingest: ' .. why) end

-- 1. Validate everything.
local ttl = tonumber(ARGV[1])
if not ttl or ttl <= 0 then return refuse('dedupe TTL must be a positive number') end
local guard, provider = ARGV[2], ARGV[3]
local invalid = tonumber(ARGV[4])
if not guard or not provider or provider == '' then return refuse('request guard and provider are required') end
if not invalid or invalid < 0 or invalid % 1 ~= 0 then return refuse('invalid count must be a whole number') end
local lane_prefix = ARGV[5]
if not lane_prefix or lane_prefix == '' then return refuse('lane prefix is required') end
if (#ARGV - 5) % 5 ~= 0 then return refuse('items come as five arguments each') end

local items = {}
for i = 6, #ARGV, 5 do
  local n = #items + 1
  local item = { field = ARGV[i], secret = ARGV[i + 1], dedupe = ARGV[i + 2], history = ARGV[i + 3], job = decode_job_json(ARGV[i + 4]) }
  if item.field == '' then return refuse('item ' .. n .. ': empty registry field') end
  if item.history ~= '' and not canonical_decimal(item.history) then return refuse('item ' .. n .. ': historyId is not a canonical decimal') end
  if not item.job then return refuse('item ' .. n .. ': not a job') end
  items[n] = item
end

-- 2. Read: the request guard, then every registry entry, cursor and dedupe key in one command each.
local now = now_ms()
if guard ~= '' then
  local expires = redis.call('ZSCORE', KEYS[3], guard)
  if expires and tonumber(expires) > now then
    redis.call('HINCRBY', KEYS[6], provider .. ':replay', 1)
    return { 'replay' }
  end
end

local function lookup(key, fields, command)
  local values = {}
  for i = 1, #fields, 1000 do
    local chunk = redis.call(command, key, unpack(fields, i, math.min(i + 999, #fields)))
    for j = 1, #chunk do values[i + j - 1] = chunk[j] end
  end
  return values
end

local function distinct(name)
  local list, index = {}, {}
  for _, item in ipairs(items) do
    local v = item[name]
    if v ~= '' and not index[v] then
      list[#list + 1] = v
      index[v] = true
    end
  end
  return list
end

local fields = distinct('field')
local stored = lookup(KEYS[4], fields, 'HMGET')
local registry = {}
for i, field in ipairs(fields) do
  local raw = stored[i]
  if raw then
    local ok, entry = pcall(cjson.decode, raw)
    if ok and type(entry) == 'table' and type(entry.tenantId) == 'string' and entry.tenantId ~= ''
      and type(entry.providerId) == 'string' and entry.providerId ~= '' then
      registry[field] = entry
    end
  end
end

local cursor = {}
local history_fields = {}
for _, item in ipairs(items) do
  if item.history ~= '' and cursor[item.field] == nil then
    cursor[item.field] = false
    history_fields[#history_fields + 1] = item.field
  end
end
local confirmed = lookup(KEYS[5], history_fields, 'HMGET')
for i, field in ipairs(history_fields) do
  if canonical_decimal(confirmed[i]) then cursor[field] = confirmed[i] end
end

local dedupes = distinct('dedupe')
local scores = lookup(KEYS[3], dedupes, 'ZMSCORE')
local seen = {}
for i, key in ipairs(dedupes) do
  if scores[i] and tonumber(scores[i]) > now then seen[key] = true end
end

-- 3. Decide, then write.
local out, jobs, marks, counts = {}, {}, {}, {}
if invalid > 0 then counts.invalid = invalid end
for n, item in ipairs(items) do
  local entry = registry[item.field]
  local outcome
  if not entry then
    outcome = 'unknown'
  elseif item.secret ~= '' and entry.secretHash ~= item.secret then
    outcome = 'forbidden'
  elseif item.history ~= '' and cursor[item.field] and not newer(item.history, cursor[item.field]) then
    outcome = 'stale'
  elseif item.dedupe ~= '' and seen[item.dedupe] then
    outcome = 'duplicate'
  else
    if item.dedupe ~= '' then
      seen[item.dedupe] = true
      marks[#marks + 1] = now + ttl
      marks[#marks + 1] = item.dedupe
    end
    item.job.tenantId = entry.tenantId
    item.job.providerId = entry.providerId
    jobs[#jobs + 1] = cjson.encode(item.job)
    outcome = 'enqueued'
  end
  out[n] = outcome
  counts[outcome] = (counts[outcome] or 0) + 1
end

if guard ~= '' then
  marks[#marks + 1] = now + ttl
  marks[#marks + 1] = guard
end
for i = 1, #marks, 1000 do
  redis.call('ZADD', KEYS[3], unpack(marks, i, math.min(i + 999, #marks)))
end
if #jobs > 0 and route_to_lanes(jobs, lane_prefix, KEYS[1]) > 0 then redis.call('ZADD', KEYS[2], 0, 'ready') end
for outcome, count in pairs(counts) do redis.call('HINCRBY', KEYS[6], provider .. ':' .. outcome, count) end
return out
