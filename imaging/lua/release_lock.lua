-- Release a lock only if it is still ours: it may have expired and been taken by another job.
-- KEYS[1] lock  ARGV[1] the token we set it to
-- Returns 1 if released, 0 if it was not ours (or already gone).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
