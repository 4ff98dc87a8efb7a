--[[
  promote: move delayed retries that are due to the end of the ready list.

  KEYS[1] delayed zset   KEYS[2] ready list   KEYS[3] wake marker zset
  ARGV[1] most jobs to move

  Returns { promoted, nextDueAt (-1: none left) }.
]]
-- @include now

local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
  redis.call('LPUSH', KEYS[2], unpack(due))
  redis.call('ZADD', KEYS[3], 0, 'ready')
end
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #due, next_due[2] and tonumber(next_due[2]) or -1 }
