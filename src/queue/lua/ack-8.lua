--[[
  ack: the job is done; forget it and give its tenant's slot back. Fenced: a stale token (the
  lease expired and the job was reclaimed, maybe claimed again by someone else) changes nothing.

  KEYS[1] inflight hash   KEYS[2] processing list   KEYS[3] lease zset
  KEYS[4] tenant inflight hash   KEYS[5] capped tenants set   KEYS[6] tenant rotation list
  KEYS[7] wake marker zset (set when a capped tenant gets a slot back)   KEYS[8] tenant config hash
  ARGV pairs: jobId, token

  Returns one integer per pair: 1 acked, 0 stale (not in flight under that token).
]]
-- @include inflight
-- @include ack

return ack_leases(KEYS[1], KEYS[2], KEYS[3], { KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8] }, ARGV, 1, {})
