--[[
  mailbox-lease: take or keep the lease that lets one consumer replica watch a mailbox.

  KEYS[1] the mailbox's lease key
  ARGV[1] owner id   ARGV[2] TTL ms

  Returns 1 when the caller holds the lease (taken or renewed), 0 when another owner does.
]]
local owner = redis.call('GET', KEYS[1])
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
