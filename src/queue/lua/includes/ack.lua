-- Ack the (jobId, token) pairs in argv[from..]: forget each job still held under its token.
-- Appends one integer per pair to `out`: 1 acked, 0 stale (not in flight under that token).
local function ack_leases(inflight_key, processing_key, lease_key, argv, from, out)
  return (each_held(inflight_key, argv, from, out, function(id, entry)
    forget_inflight(inflight_key, processing_key, lease_key, id, entry)
  end))
end
