-- The queries the demo diagnoses.

-- One customer's orders: no index on customer_id, so all 200,000 rows are read.
SELECT id, amount FROM orders WHERE customer_id = 4242;

-- Refunded orders: the statistics predate the refunds, so the planner expects about one row.
SELECT count(*), sum(amount) FROM orders WHERE status = 'refunded';

-- Every order by note: with work_mem = 64kB the sort spills to disk.
SELECT id, note FROM orders ORDER BY note;
