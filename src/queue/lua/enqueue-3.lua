--[[
  enqueue: append jobs to the end of their tenants' lanes, dropping repeats of a dedupe key seen
  within its TTL (or earlier in the same batch). A tenant whose lane was empty joins the tenant
  rotation at its back.

  KEYS[1] tenant rotation list   KEYS[2] wake marker (zset)   KEYS[3] dedupe (zset: key -> expiry ms)
  ARGV[1] dedupe TTL in ms       ARGV[2] lane key prefix
  ARGV[3..] pairs: dedupe key ('' for none), job JSON

  Returns { enqueued, duplicates }, or an error reply 'ERR enqueue: ...' with nothing written
  when an argument is invalid (every one is checked before the first write: Redis does not roll
  a script back).
  The wake marker is set only when a tenant joined the rotation: a consumer blocks only after it
  found the rotation empty, so that is the one transition it needs to hear about.
]]
-- @include now
-- @include job-json
-- @include tenant

local ttl = tonumber(ARGV[1])
if not ttl or ttl <= 0 then return redis.error_reply('ERR enqueue: dedupe TTL must be a positive number') end
local lane_prefix = ARGV[2]
if not lane_prefix or lane_prefix == '' then return redis.error_reply('ERR enqueue: lane prefix is required') end
if #ARGV % 2 ~= 0 then return redis.error_reply('ERR enqueue: items come as (dedupe key, job) pairs') end
for i = 4, #ARGV, 2 do
  if not decode_job_json(ARGV[i]) then return redis.error_reply('ERR enqueue: item ' .. ((i - 2) / 2) .. ': not a job') end
end

local now
local jobs = {}
local duplicates = 0
for i = 3, #ARGV, 2 do
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

if #jobs > 0 and route_to_lanes(jobs, lane_prefix, KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[2], 0, 'ready')
end
return { #jobs, duplicates }
