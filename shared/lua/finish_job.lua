-- Record a job's outcome, say that it ended, and hand back who is waiting for it.
-- KEYS[1] result or failure key  KEYS[2] waiters  KEYS[3] job marker  KEYS[4] pending marker
-- ARGV[1] outcome JSON  ARGV[2] ttl seconds of the outcome  ARGV[3] the wait id's channel
-- ARGV[4] what ended: "done" or "failed"  ARGV[5] 'SPUBLISH' on a Redis Cluster, else PUBLISH
-- Returns the waiting user ids. The waiters set is kept: the caller announces to each user
-- (deduplicated per job) and then calls release_waiters.lua, so a crash in between re-announces
-- on redelivery instead of losing anyone.
-- The publish is here, in the same step as the SET, so a held poll that subscribed to the channel
-- and then found no outcome is sure to hear of it (gateway/completions.py).
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[3], KEYS[4])
local publish = 'PUBLISH'
if ARGV[5] == 'SPUBLISH' then publish = 'SPUBLISH' end
redis.call(publish, ARGV[3], ARGV[4])
return redis.call('SMEMBERS', KEYS[2])
