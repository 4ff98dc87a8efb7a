--[[
  ingest: the edge's one round trip per notification request. Checks each item against the
  provider registry and writes the pointers that pass, in one atomic step:
    - unknown registry entry (subscription, mailbox, provider)  → 'unknown'
    - secret hash given and not the registered one (clientState) → 'forbidden'
    - Gmail historyId not newer than the last one enqueued        → 'stale'
    - dedupe key seen within its TTL (repeat notification)        → 'duplicate'
    - otherwise the job gets the registry's tenantId/providerId   → 'enqueued'
  A request guard (IMAP signature) seen before refuses the whole request: 'replay'.

  KEYS[1] ready list   KEYS[2] wake marker zset   KEYS[3] dedupe zset   KEYS[4] registry hash
  KEYS[5] gmail history hash (field → last historyId enqueued)   KEYS[6] counters hash
  ARGV[1] dedupe TTL ms   ARGV[2] request guard key ('' for none)   ARGV[3] provider (for counters)
  ARGV[4] items the edge already dropped as invalid (counted here, so counting costs no extra call)
  ARGV[5..] five per item: registry field, secret hash (''), dedupe key (''), historyId (''), job JSON

  Returns { 'replay' } or { outcome1, outcome2, ... } (one per item, in order).
]]
-- @include now

local ttl = tonumber(ARGV[1])
local provider = ARGV[3]
local now = now_ms()

local function seen(key)
  local expires = redis.call('ZSCORE', KEYS[3], key)
  return expires and tonumber(expires) > now
end

-- Decimal strings of any length: compare by length, then digit by digit.
local function newer(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end

if ARGV[2] ~= '' then
  if seen(ARGV[2]) then
    redis.call('HINCRBY', KEYS[6], provider .. ':replay', 1)
    return { 'replay' }
  end
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[2])
end

local out, jobs, counts = {}, {}, {}
if tonumber(ARGV[4]) > 0 then counts.invalid = tonumber(ARGV[4]) end
local registry = {}
for i = 5, #ARGV, 5 do
  local field, secret, dedupe, history, raw = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local entry = registry[field]
  if entry == nil then
    local stored = redis.call('HGET', KEYS[4], field)
    entry = stored and cjson.decode(stored) or false
    registry[field] = entry
  end
  local outcome
  if not entry then
    outcome = 'unknown'
  elseif secret ~= '' and entry.secretHash ~= secret then
    outcome = 'forbidden'
  elseif history ~= '' and (function()
      local last = redis.call('HGET', KEYS[5], field)
      return last and not newer(history, last)
    end)() then
    outcome = 'stale'
  elseif dedupe ~= '' and seen(dedupe) then
    outcome = 'duplicate'
  else
    if dedupe ~= '' then redis.call('ZADD', KEYS[3], now + ttl, dedupe) end
    if history ~= '' then redis.call('HSET', KEYS[5], field, history) end
    local job = cjson.decode(raw)
    job.tenantId = entry.tenantId
    job.providerId = entry.providerId
    jobs[#jobs + 1] = cjson.encode(job)
    outcome = 'enqueued'
  end
  out[#out + 1] = outcome
  counts[outcome] = (counts[outcome] or 0) + 1
end

local length = 0
for i = 1, #jobs, 1000 do
  length = redis.call('LPUSH', KEYS[1], unpack(jobs, i, math.min(i + 999, #jobs)))
end
if #jobs > 0 and length == #jobs then redis.call('ZADD', KEYS[2], 0, 'ready') end
for outcome, n in pairs(counts) do redis.call('HINCRBY', KEYS[6], provider .. ':' .. outcome, n) end
return out
