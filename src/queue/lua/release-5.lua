--[[
  release: give jobs back without counting an attempt (graceful shutdown). They go to the
  front of the ready list, where they were, and a waiting consumer is woken.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] ready list      KEYS[5] wake marker zset
  ARGV pairs: jobId, token

  Returns one integer per pair: 1 released, 0 stale.
]]
-- @include inflight

local out, released = each_held(KEYS[1], ARGV, 1, {}, function(id, entry)
  forget_inflight(KEYS[1], KEYS[2], KEYS[3], id, entry)
  redis.call('RPUSH', KEYS[4], entry.raw)
end)
if released > 0 then redis.call('ZADD', KEYS[5], 0, 'ready') end
return out
