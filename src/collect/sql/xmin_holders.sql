-- What holds back vacuum's cleanup horizon: prepared transactions and replication slots (long
-- transactions come from activity.sql). Ages are in transactions.
SELECT 'prepared transaction' AS kind, gid AS name, owner AS detail,
       age(transaction) AS xmin_age,
       extract(epoch FROM now() - prepared)::float8 AS age_s
  FROM pg_prepared_xacts
UNION ALL
SELECT 'replication slot', slot_name, coalesce(slot_type, '') || CASE WHEN active THEN ' (active)' ELSE ' (inactive)' END,
       greatest(age(xmin), age(catalog_xmin)), NULL
  FROM pg_replication_slots
 WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL;
