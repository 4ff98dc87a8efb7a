-- @include job-json
-- An inflight record is "token|delivery|claimedAt|raw job"; the raw job is the exact string
-- that sits in the processing list, so it can be removed from there with LREM.
local function parse_inflight(rec)
  local token, delivery, claimed_at, raw = string.match(rec, '^([^|]*)|(%d+)|(%d+)|(.*)$')
  if not token then return nil end
  return { token = token, delivery = tonumber(delivery), claimed_at = tonumber(claimed_at), raw = raw }
end

-- The inflight entry of a job if it is still held under `token`, else nil (a stale lease).
local function held(inflight_key, id, token)
  local rec = redis.call('HGET', inflight_key, id)
  local entry = rec and parse_inflight(rec)
  if entry and entry.token == token then return entry end
  return nil
end

-- For each (jobId, token) pair in argv[from..]: call `fn(id, entry)` if the job is still held
-- under that token. Appends 1 (held) or 0 (stale) per pair to `out`; returns `out` and the
-- number held.
local function each_held(inflight_key, argv, from, out, fn)
  local n = 0
  for i = from, #argv, 2 do
    local id = argv[i]
    local entry = held(inflight_key, id, argv[i + 1])
    if entry then
      fn(id, entry)
      n = n + 1
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  return out, n
end

-- The job is no longer in flight: drop its inflight record, processing entry and lease.
local function forget_inflight(inflight_key, processing_key, lease_key, id, entry)
  redis.call('HDEL', inflight_key, id)
  redis.call('LREM', processing_key, 1, entry.raw)
  redis.call('ZREM', lease_key, id)
end
