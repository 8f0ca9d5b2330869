-- The demo's data: one table of orders in which every item of pgdiag's checklist is present.
-- Run statement by statement on the database `demo`; a `-- pgdiag-demo: new session` line
-- starts a new session once the previous one's counters are in the statistics views.
-- Autovacuum is off on the demo cluster, and the database has work_mem = 64kB and no parallel
-- query, set by the demo before this runs.

CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer_id int NOT NULL,
    status      text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    note        text NOT NULL
);

-- 200,000 orders from 20,000 customers; nine in ten shipped, one in ten cancelled.
INSERT INTO orders
SELECT g,
       (g * 7919) % 20000,
       CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'shipped' END,
       (g % 997) * 1.5,
       md5(g::text)
FROM generate_series(1, 200000) g;

-- pgdiag-demo: new session (the load's counters reach the statistics views before ANALYZE)

ANALYZE orders;

-- A bulk change after ANALYZE, with no ANALYZE or VACUUM after it: half the orders are
-- refunded. The statistics still say there is no such status (stale statistics, a huge
-- misestimate), and the old versions of those 100,000 rows stay behind as dead tuples.
UPDATE orders SET status = 'refunded' WHERE id % 2 = 0;
