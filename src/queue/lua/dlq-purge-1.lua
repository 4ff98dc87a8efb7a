--[[
  dlq-purge: delete dead letters for good.

  KEYS[1] dlq list
  ARGV[1] record id, or '*' for every record   ARGV[2] most records to look at

  Returns the number deleted.
]]
if ARGV[1] == '*' then
  local n = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local records = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local purged = 0
for _, raw in ipairs(records) do
  local ok, record = pcall(cjson.decode, raw)
  if ok and type(record) == 'table' and record.id == ARGV[1] then
    redis.call('LREM', KEYS[1], 1, raw)
    purged = purged + 1
  end
end
return purged
