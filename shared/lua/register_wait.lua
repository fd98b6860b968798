-- Register a user as waiting for an image result, and claim the job if nobody has yet.
-- Atomic, so a worker finishing at the same moment can never miss this waiter.
-- KEYS[1] result  KEYS[2] waiters  KEYS[3] job marker ("" in ARGV[4] means: only wait, no job)
-- KEYS[4] pending marker of the wait id (set with a claim, deleted by finish_job.lua)
-- KEYS[5] failure record of the wait id (set by finish_job.lua, expires after the failure TTL)
-- ARGV[1] user id ("" = nobody to notify)  ARGV[2] ttl seconds  ARGV[3] marker value
-- ARGV[4] "1" to claim the job
-- Returns {"done", result_json} | {"queued"} (caller must enqueue) | {"pending"}
--   | {"failed", failure_json} (a job for this wait id failed within the failure TTL: nothing is
--     claimed, so a dead image costs one job per TTL, not one per page view)
local result = redis.call('GET', KEYS[1])
if result then
  return {'done', result}
end
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
local failure = redis.call('GET', KEYS[5])
if failure then
  return {'failed', failure}
end
if ARGV[4] ~= '1' then
  return {'pending'}
end
if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[2])
  return {'queued'}
end
return {'pending'}
