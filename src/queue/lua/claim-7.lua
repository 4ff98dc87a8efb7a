--[[
  claim: move up to `count` jobs from the ready list to the processing list, each with an
  inflight record (fencing token, delivery number) and a lease, in one atomic step.

  KEYS[1] ready list   KEYS[2] processing list   KEYS[3] inflight hash   KEYS[4] lease zset
  KEYS[5] dlq list     KEYS[6] delayed zset      KEYS[7] wake marker zset
  ARGV[1] count        ARGV[2] token prefix (unique per call)   ARGV[3] lease TTL ms
  ARGV[4] '1' when the caller was woken by the marker (then pass the wake on if work remains)
  ARGV[5] how many due delayed jobs to promote when the ready list runs dry

  Returns { now, leaseUntil, nextDelayedAt (-1: none), jobId1, token1, delivery1, raw1, ... }.
  A payload that is not a job, or a job already in flight, goes to the dead-letter list with a
  reason instead of blocking the queue.
]]
-- @include now
-- @include inflight
-- @include dead-letter
-- @include claim

return claim_jobs(KEYS, ARGV, {})
