-- A job as the queue's producers send it: a JSON object with a non-empty string jobId (at most
-- 64 bytes) and a string provider. Returns the decoded table, or nil when `raw` is not such a
-- job (including JSON that cjson cannot decode, such as an escaped lone surrogate "\ud800").
local function decode_job_json(raw)
  local ok, job = pcall(cjson.decode, raw)
  if not ok or type(job) ~= 'table' or type(job.jobId) ~= 'string' or job.jobId == ''
    or string.len(job.jobId) > 64 or type(job.provider) ~= 'string' then
    return nil
  end
  return job
end
