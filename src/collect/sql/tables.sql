-- Size and statistics of the relations the plans touch, and only those: $1 holds the names as the
-- plans print them (`relname` or `schema.relname`). Each name is resolved with to_regclass (one
-- catalog index lookup, search_path rules for bare names) and the statistics come from the
-- pg_stat_get_* functions per oid (the pg_stat_all_tables view groups over the whole catalog, and
-- its condition is not pushed into a join): a database with 10,000 tables costs a lookup per
-- name, never a scan of the whole catalog.
WITH wanted AS (
  SELECT DISTINCT to_regclass(CASE WHEN strpos(w, '.') > 0
                                   THEN format('%I.%I', split_part(w, '.', 1), split_part(w, '.', 2))
                                   ELSE format('%I', w) END) AS oid
    FROM unnest($1::text[]) AS w
)
SELECT n.nspname AS schema, c.relname AS relation, c.oid::bigint AS oid, c.relkind::text AS relkind,
       c.reltuples::float8 AS reltuples, c.relpages::bigint AS relpages,
       pg_relation_size(c.oid) AS size_bytes,
       pg_total_relation_size(c.oid) AS total_bytes,
       pg_stat_get_live_tuples(c.oid) AS n_live_tup,
       pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
       pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
       pg_stat_get_numscans(c.oid) AS seq_scan,
       pg_stat_get_tuples_returned(c.oid) AS seq_tup_read,
       (SELECT sum(pg_stat_get_numscans(i.indexrelid))::bigint FROM pg_index i WHERE i.indrelid = c.oid) AS idx_scan,
       la.t::text AS last_analyze_at,
       extract(epoch FROM now() - la.t)::float8 AS analyze_age_s,
       lv.t::text AS last_vacuum_at,
       extract(epoch FROM now() - lv.t)::float8 AS vacuum_age_s,
       c.reloptions::text[] AS reloptions
  FROM wanted w
  JOIN pg_class c ON c.oid = w.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT greatest(pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)) AS t) la
  CROSS JOIN LATERAL (SELECT greatest(pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid)) AS t) lv
 WHERE c.relkind IN ('r', 'p', 'm', 't', 'f');
