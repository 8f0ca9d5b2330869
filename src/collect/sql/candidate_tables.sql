-- For `pgdiag health`, which has no plan naming tables: the few tables of the current database
-- worth a look (most dead rows, most rows changed since the last ANALYZE, or never analyzed),
-- as `schema.relname` for tables.sql. One pass over pg_stat_user_tables on the server with a
-- floor and a LIMIT, so only $2 names come back however many tables there are.
-- $1: minimum dead or changed rows; $2: how many tables at most.
SELECT format('%s.%s', schemaname, relname) AS name
  FROM pg_stat_user_tables
 WHERE n_dead_tup >= $1
    OR n_mod_since_analyze >= $1
    OR (last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup >= $1)
 ORDER BY greatest(n_dead_tup, n_mod_since_analyze) DESC
 LIMIT $2;
