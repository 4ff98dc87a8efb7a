--[[
  enqueue: append jobs to the ready list, dropping repeats of a dedupe key seen within its TTL.

  KEYS[1] ready list          KEYS[2] wake marker (zset)     KEYS[3] dedupe (zset: key -> expiry ms)
  ARGV[1] dedupe TTL in ms
  ARGV[2..] pairs: dedupe key ('' for none), job JSON

  Returns { enqueued, duplicates }.
  The wake marker is set only when the list was empty before: a consumer blocks only after it
  found the ready list empty, so that is the one transition it needs to hear about.
]]
-- @include now

local ttl = tonumber(ARGV[1])
local now
local jobs = {}
local duplicates = 0
for i = 2, #ARGV, 2 do
  local key, raw = ARGV[i], ARGV[i + 1]
  local fresh = true
  if key ~= '' then
    now = now or now_ms()
    local expires = redis.call('ZSCORE', KEYS[3], key)
    if expires and tonumber(expires) > now then
      fresh = false
    else
      redis.call('ZADD', KEYS[3], now + ttl, key)
    end
  end
  if fresh then jobs[#jobs + 1] = raw else duplicates = duplicates + 1 end
end

local length = 0
for i = 1, #jobs, 1000 do
  length = redis.call('LPUSH', KEYS[1], unpack(jobs, i, math.min(i + 999, #jobs)))
end
if #jobs > 0 and length == #jobs then
  redis.call('ZADD', KEYS[2], 0, 'ready')
end
return { #jobs, duplicates }
