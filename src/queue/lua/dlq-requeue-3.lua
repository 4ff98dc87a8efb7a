--[[
  dlq-requeue: redrive dead letters to the end of the ready list with attempts reset.

  KEYS[1] dlq list   KEYS[2] ready list   KEYS[3] wake marker zset
  ARGV[1] record id, or '*' for every record   ARGV[2] most records to look at

  Returns the number requeued. Records without a job (malformed payloads) cannot be redriven
  and stay; purge them.
]]
local records = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local requeued = 0
for _, raw in ipairs(records) do
  local ok, record = pcall(cjson.decode, raw)
  if ok and type(record) == 'table' and type(record.job) == 'table'
    and (ARGV[1] == '*' or record.id == ARGV[1]) then
    redis.call('LREM', KEYS[1], 1, raw)
    local job = record.job
    job.attempt = 0
    redis.call('LPUSH', KEYS[2], cjson.encode(job))
    requeued = requeued + 1
  end
end
if requeued > 0 then redis.call('ZADD', KEYS[3], 0, 'ready') end
return requeued
