-- One reservation, the same rule Floodgate's sale state machine applies:
-- one unit per customer, never below zero stock.
-- KEYS[1] = stock counter, KEYS[2] = set of customers who bought
-- ARGV[1] = customer
-- Returns 1 (reserved), 0 (sold out), -1 (customer already bought).
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return -1
end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then
  return 0
end
redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
