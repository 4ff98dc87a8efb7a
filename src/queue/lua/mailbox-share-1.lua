--[[
  mailbox-share: one call per refresh for a replica's whole share of mailbox leases (the IMAP
  listener's), instead of one mailbox-lease call per mailbox. Keeps (renews) the leases the
  caller holds (all of them: giving one back is the caller's to do, after its watcher stopped,
  with mailbox-release) and takes free ones until it holds the limit; never touches a lease
  another owner holds. The leases are the same per-mailbox keys as mailbox-lease's.

  KEYS[1] … KEYS[n] the mailboxes' lease keys (one or more): the ones the caller holds first,
                    then the ones it would take, in the order it prefers them
  ARGV[1] owner id   ARGV[2] TTL ms   ARGV[3] take free leases only while the caller holds fewer than this

  Returns one integer per key: 1 the caller holds it (kept or taken), 0 another owner holds it,
  2 it is free but the limit was reached (not taken).
]]
local owner = ARGV[1]
local ttl = ARGV[2]
local limit = tonumber(ARGV[3])
local held = 0
local result = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == owner then
    redis.call('PEXPIRE', key, ttl)
    held = held + 1
    result[i] = 1
  elseif current then
    result[i] = 0
  elseif held < limit then
    redis.call('SET', key, owner, 'PX', ttl)
    held = held + 1
    result[i] = 1
  else
    result[i] = 2
  end
end
return result
