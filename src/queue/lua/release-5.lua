--[[
  release: give jobs back without counting an attempt (graceful shutdown). They go to the
  front of the ready list, where they were, and a waiting consumer is woken.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] ready list      KEYS[5] wake marker zset
  ARGV pairs: jobId, token

  Returns one integer per pair: 1 released, 0 stale.
]]
-- @include inflight

local out, released = {}, 0
for i = 1, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local entry = held(KEYS[1], id, token)
  if entry then
    redis.call('HDEL', KEYS[1], id)
    redis.call('LREM', KEYS[2], 1, entry.raw)
    redis.call('ZREM', KEYS[3], id)
    redis.call('RPUSH', KEYS[4], entry.raw)
    released = released + 1
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if released > 0 then redis.call('ZADD', KEYS[5], 0, 'ready') end
return out
