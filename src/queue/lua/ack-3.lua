--[[
  ack: the job is done; forget it. Fenced: a stale token (the lease expired and the job was
  reclaimed, maybe claimed again by someone else) changes nothing.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  ARGV pairs: jobId, token

  Returns one integer per pair: 1 acked, 0 stale (not in flight under that token).
]]
-- @include inflight

local out = {}
for i = 1, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local entry = held(KEYS[1], id, token)
  if entry then
    redis.call('HDEL', KEYS[1], id)
    redis.call('LREM', KEYS[2], 1, entry.raw)
    redis.call('ZREM', KEYS[3], id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
