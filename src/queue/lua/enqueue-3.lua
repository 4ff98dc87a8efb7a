--[[
  enqueue: append jobs to the ready list, dropping repeats of a dedupe key seen within its TTL
  (or earlier in the same batch).

  KEYS[1] ready list          KEYS[2] wake marker (zset)     KEYS[3] dedupe (zset: key -> expiry ms)
  ARGV[1] dedupe TTL in ms
  ARGV[2..] pairs: dedupe key ('' for none), job JSON

  Returns { enqueued, duplicates }, or an error reply 'ERR enqueue: ...' with nothing written
  when an argument is invalid (every one is checked before the first write: Redis does not roll
  a script back).
  The wake marker is set only when the list was empty before: a consumer blocks only after it
  found the ready list empty, so that is the one transition it needs to hear about.
]]
-- @include now
-- @include job-json

local ttl = tonumber(ARGV[1])
if not ttl or ttl <= 0 then return redis.error_reply('ERR enqueue: dedupe TTL must be a positive number') end
if #ARGV % 2 ~= 1 then return redis.error_reply('ERR enqueue: items come as (dedupe key, job) pairs') end
for i = 3, #ARGV, 2 do
  if not decode_job_json(ARGV[i]) then return redis.error_reply('ERR enqueue: item ' .. ((i - 1) / 2) .. ': not a job') end
end

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
