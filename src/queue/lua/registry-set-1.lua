--[[
  registry-set: write (or, with an empty value, remove) one provider registry entry, and remove
  a replaced one, in one step (a recreated Graph subscription swaps its field atomically).

  KEYS[1] registry hash
  ARGV[1] field   ARGV[2] value JSON ('' removes the field)   ARGV[3] field to remove ('' for none)

  Returns the number of fields written or removed.
]]
local n = 0
if ARGV[3] ~= '' then n = n + redis.call('HDEL', KEYS[1], ARGV[3]) end
if ARGV[2] == '' then
  n = n + redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  n = n + 1
end
return n
