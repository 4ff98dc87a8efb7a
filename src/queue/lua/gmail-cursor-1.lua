--[[
  gmail-cursor: the consumer confirms how far it has read a Gmail mailbox's history. The edge's
  ingest drops a push as stale only when its historyId is at or below this value, so only what
  the consumer has actually listed (its own cursor, from Gmail) can silence a push, never a value
  a notification brought. The value only ever rises: concurrent jobs of one mailbox may confirm
  out of order.

  KEYS[1] gmail cursor hash (field → historyId)
  ARGV[1] field (the mailbox's registry field, google:mailbox:<lowercased address>)
  ARGV[2] historyId (canonical decimal: digits, no leading zero, at most 2^64 - 1)

  Returns the value stored after the call; an error reply 'ERR gmail-cursor: ...' with nothing
  written when an argument is invalid.
]]
-- @include decimal

local field, history = ARGV[1], ARGV[2]
if not field or field == '' then return redis.error_reply('ERR gmail-cursor: empty field') end
if not canonical_decimal(history) then return redis.error_reply('ERR gmail-cursor: historyId is not a canonical decimal') end
local current = redis.call('HGET', KEYS[1], field)
if current and canonical_decimal(current) and not newer(history, current) then return current end
redis.call('HSET', KEYS[1], field, history)
return history
