-- The PostgreSQL peer of the reservation benchmark: one hot row of stock
-- and a table of customers who bought, with the same rule as Floodgate and
-- bench/reserve.lua (one unit per customer, never below zero).
CREATE TABLE stock (drop_id int PRIMARY KEY, left_units bigint NOT NULL);
CREATE TABLE buyers (drop_id int NOT NULL, customer bigint NOT NULL, PRIMARY KEY (drop_id, customer));
INSERT INTO stock VALUES (1, 1000000000);

-- Returns 1 (reserved), 0 (sold out), -1 (customer already bought).
CREATE FUNCTION reserve(d int, c bigint) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  SELECT left_units INTO n FROM stock WHERE drop_id = d FOR UPDATE;
  IF n <= 0 THEN RETURN 0; END IF;
  INSERT INTO buyers VALUES (d, c) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN -1; END IF;
  UPDATE stock SET left_units = left_units - 1 WHERE drop_id = d;
  RETURN 1;
END $$;
