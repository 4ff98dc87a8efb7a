-- @include tenant
-- Ack the (jobId, token) pairs in argv[from..]: forget each job still held under its token and
-- give its tenant's slot back (`slots`: tenant inflight hash, capped set, rotation, wake marker).
-- Appends one integer per pair to `out`: 1 acked, 0 stale (not in flight under that token).
local function ack_leases(inflight_key, processing_key, lease_key, slots, argv, from, out)
  local raws = {}
  each_held(inflight_key, argv, from, out, function(id, entry)
    forget_inflight(inflight_key, processing_key, lease_key, id, entry)
    raws[#raws + 1] = entry.raw
  end)
  free_slots(slots, raws)
  return out
end
