--[[
  ack: the job is done; forget it. Fenced: a stale token (the lease expired and the job was
  reclaimed, maybe claimed again by someone else) changes nothing.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  ARGV pairs: jobId, token

  Returns one integer per pair: 1 acked, 0 stale (not in flight under that token).
]]
-- @include inflight
-- @include ack

return ack_leases(KEYS[1], KEYS[2], KEYS[3], ARGV, 1, {})
