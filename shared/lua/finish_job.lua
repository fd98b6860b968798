-- Record a job's outcome and hand back who is waiting for it.
-- KEYS[1] result or failure key  KEYS[2] waiters  KEYS[3] job marker
-- ARGV[1] outcome JSON  ARGV[2] ttl seconds of the outcome
-- Returns the waiting user ids. The waiters set is kept: the caller announces to each user
-- (deduplicated per job) and then calls release_waiters.lua, so a crash in between re-announces
-- on redelivery instead of losing anyone.
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[3])
return redis.call('SMEMBERS', KEYS[2])
