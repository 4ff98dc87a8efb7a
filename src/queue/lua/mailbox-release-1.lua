--[[
  mailbox-release: give up a mailbox lease, only if it is still ours.

  KEYS[1] the mailbox's lease key
  ARGV[1] owner id

  Returns 1 when released, 0 when the lease was not ours (any more).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
