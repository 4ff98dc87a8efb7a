-- Ack the (jobId, token) pairs in argv[from..]: forget each job still held under its token.
-- Appends one integer per pair to `out`: 1 acked, 0 stale (not in flight under that token).
local function ack_leases(inflight_key, processing_key, lease_key, argv, from, out)
  for i = from, #argv, 2 do
    local id, token = argv[i], argv[i + 1]
    local entry = held(inflight_key, id, token)
    if entry then
      redis.call('HDEL', inflight_key, id)
      redis.call('LREM', processing_key, 1, entry.raw)
      redis.call('ZREM', lease_key, id)
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  return out
end
