-- Append one event to a user's log and publish it, in one step, at most once per job.
-- KEYS[1] log stream  KEYS[2] offset counter  KEYS[3] epoch  KEYS[4] per-job dedupe marker
-- ARGV[1] channel  ARGV[2] event JSON object (without epoch/offset)  ARGV[3] log max length
-- ARGV[4] dedupe ttl  ARGV[5] epoch to use if the log has none  ARGV[6] log ttl seconds
-- Returns {epoch, offset} or false when this job was already announced to this user.
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then
  return false
end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
local offset = redis.call('INCR', KEYS[2])
-- The payload is the event with epoch and offset spliced in front of its other keys.
local payload = '{"epoch":"' .. epoch .. '","offset":' .. offset .. ',' .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], offset .. '-1', 'p', payload)
redis.call('PUBLISH', ARGV[1], payload)
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[6])
end
return {epoch, offset}
