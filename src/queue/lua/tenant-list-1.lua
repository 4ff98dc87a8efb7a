--[[
  tenant-list: every tenant's claim settings.

  KEYS[1] tenant config hash

  Returns { tenantId1, settings JSON 1, tenantId2, ... }.
]]
return redis.call('HGETALL', KEYS[1])
