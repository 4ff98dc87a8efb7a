--[[
  release: give jobs back without counting an attempt (graceful shutdown, prefetched jobs that
  waited too long). They go to the front of the ready list in the order given, so releasing
  jobs 1, 2, 3 has them claimed again as 1, 2, 3, ahead of the jobs that were behind them, and a
  waiting consumer is woken.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] ready list      KEYS[5] wake marker zset
  ARGV pairs: jobId, token (in claim order)

  Returns one integer per pair: 1 released, 0 stale (or the same job named again).
  Errors, before writing anything, when ARGV is not whole pairs.
]]
-- @include inflight

local inflight_key, processing_key, lease_key = KEYS[1], KEYS[2], KEYS[3]
local ready_key, wake_key = KEYS[4], KEYS[5]

if #ARGV % 2 ~= 0 then
  return redis.error_reply('release: ARGV must be jobId, token pairs')
end

-- Read everything first: which pairs are still held (each job once).
local out, held_entries, seen = {}, {}, {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local entry = not seen[id] and held(inflight_key, id, ARGV[i + 1])
  if entry then
    seen[id] = true
    held_entries[#held_entries + 1] = { id = id, entry = entry }
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end

-- Claim takes from the right end, so the first job given must end up right-most: push the
-- jobs right to left, in chunks (unpack has a stack limit).
local raws = {}
for n = #held_entries, 1, -1 do
  local h = held_entries[n]
  forget_inflight(inflight_key, processing_key, lease_key, h.id, h.entry)
  raws[#raws + 1] = h.entry.raw
end
for i = 1, #raws, 1000 do
  redis.call('RPUSH', ready_key, unpack(raws, i, math.min(i + 999, #raws)))
end
if #raws > 0 then redis.call('ZADD', wake_key, 0, 'ready') end
return out
