--[[
  dlq-list: read dead-letter records, newest first.

  KEYS[1] dlq list
  ARGV[1] first index   ARGV[2] last index

  Returns { total, record1, record2, ... } (records as JSON).
]]
local out = { redis.call('LLEN', KEYS[1]) }
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))) do
  out[#out + 1] = raw
end
return out
