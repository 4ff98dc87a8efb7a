--[[
  counters: read the ingress counters.

  KEYS[1] counters hash

  Returns the hash as { field1, value1, field2, value2, ... }.
]]
return redis.call('HGETALL', KEYS[1])
