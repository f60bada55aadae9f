\set customer random(1, 2000000000)
BEGIN;
SELECT reserve(1, :customer);
COMMIT;
