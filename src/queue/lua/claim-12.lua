--[[
  claim: claim up to `count` jobs, serving tenants in turn (see includes/claim.lua): arrivals
  and due retries join their tenants' lanes, then each tenant at the front of the rotation
  gives up to its weight in jobs (within its max-inflight), FIFO within the tenant. Each job
  moves from its lane to the processing list with an inflight record (fencing token, delivery
  number) and a lease, in one atomic step.

  KEYS[1] ready list (arrivals)   KEYS[2] processing list   KEYS[3] inflight hash
  KEYS[4] lease zset   KEYS[5] dlq list   KEYS[6] delayed zset   KEYS[7] wake marker zset
  KEYS[8] tenant rotation list    KEYS[9] capped tenants set
  KEYS[10] tenant inflight hash (tenant → jobs in flight)   KEYS[11] tenant config hash
  KEYS[12] turn (the jobs a tenant is still owed from a turn the last batch cut short)
  ARGV[1] count        ARGV[2] token prefix (unique per call)   ARGV[3] lease TTL ms
  ARGV[4] '1' when the caller was woken by the marker (then pass the wake on if work remains)
  ARGV[5] how many due delayed jobs to promote   ARGV[6] lane key prefix
  ARGV[7] how many arrivals to sort into lanes at most

  Returns { now, leaseUntil, nextDelayedAt (-1: none), jobId1, token1, delivery1, raw1, ... }.
  A payload that is not a job, or a job already in flight, goes to the dead-letter list with a
  reason instead of blocking the queue.
]]
-- @include now
-- @include inflight
-- @include dead-letter
-- @include claim

return claim_jobs(KEYS, ARGV, {})
