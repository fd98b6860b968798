-- Forget waiters that have been notified. Users who registered after finish_job found the
-- result directly (register_wait.lua checks it first), so removing exactly these is safe.
-- KEYS[1] waiters  ARGV: user ids
if #ARGV > 0 then
  redis.call('SREM', KEYS[1], unpack(ARGV))
end
return redis.call('SCARD', KEYS[1])
