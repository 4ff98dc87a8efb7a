--[[
  ack-claim: ack finished jobs and claim the next ones in one step, so a consumer whose slot
  frees spends one round trip per job instead of two. Both halves are exactly ack and claim.

  KEYS[1] ready list (arrivals)   KEYS[2] processing list   KEYS[3] inflight hash
  KEYS[4] lease zset   KEYS[5] dlq list   KEYS[6] delayed zset   KEYS[7] wake marker zset
  KEYS[8] tenant rotation list    KEYS[9] capped tenants set
  KEYS[10] tenant inflight hash   KEYS[11] tenant config hash   KEYS[12] turn
  ARGV[1..7] as claim: count, token prefix, lease TTL ms, woken, promote limit, lane prefix,
  arrivals limit
  ARGV[8..] pairs to ack: jobId, token

  Returns { number of acks, ack result per pair (1 acked, 0 stale), then claim's reply }.
]]
-- @include now
-- @include inflight
-- @include dead-letter
-- @include ack
-- @include claim

local out = { (#ARGV - 7) / 2 }
ack_leases(KEYS[3], KEYS[2], KEYS[4], { KEYS[10], KEYS[9], KEYS[8], KEYS[7], KEYS[11] }, ARGV, 8, out)
return claim_jobs(KEYS, ARGV, out)
