-- Append one event to a user's log and publish it, in one step, at most once per delivery.
-- KEYS[1] log stream  KEYS[2] offset counter  KEYS[3] epoch  KEYS[4] per-delivery dedupe marker
-- ARGV[1] channel  ARGV[2] event JSON object (without epoch/offset/t)  ARGV[3] events kept by count
-- ARGV[4] dedupe ttl  ARGV[5] epoch to use if the log has none  ARGV[6] log ttl seconds
-- ARGV[7] events kept by age (ms)  ARGV[8] hard cap on log length
-- ARGV[9] 'SPUBLISH' on a Redis Cluster (sharded pub/sub: the channel shares the log's slot), else PUBLISH
-- Returns {epoch, offset} or false when this delivery was already announced to this user.
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then
  return false
end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
local offset = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
-- epoch, offset and the publish time are spliced in front of the event's own keys.
local payload = '{"epoch":"' .. epoch .. '","offset":' .. offset .. ',"t":' .. now_ms .. ','
  .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[8], offset .. '-1', 'p', payload, 't', now_ms)
-- Keep the last ARGV[3] events or those younger than ARGV[7] ms, whichever is more: drop from
-- the front only entries that are both outside the count and older than the age.
local keep_from = offset - tonumber(ARGV[3]) + 1
local too_old = now_ms - tonumber(ARGV[7])
for _ = 1, 8 do
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not first then break end
  local first_offset = tonumber(string.match(first[1], '^(%d+)'))
  local first_t = tonumber(first[2][4])
  if first_offset >= keep_from or first_t >= too_old then break end
  redis.call('XDEL', KEYS[1], first[1])
end
local publish = 'PUBLISH'
if ARGV[9] == 'SPUBLISH' then publish = 'SPUBLISH' end
redis.call(publish, ARGV[1], payload)
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[6])
end
return {epoch, offset}
