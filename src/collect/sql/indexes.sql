-- Existing indexes of the given tables ($1: table oids), so index advice never proposes one that
-- exists, and says when one exists but is not used.
SELECT i.indrelid::bigint AS table_oid, ic.relname AS index, i.indisunique AS is_unique,
       i.indisprimary AS is_primary, i.indisvalid AS is_valid, i.indpred IS NOT NULL AS is_partial,
       pg_get_indexdef(i.indexrelid) AS definition,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, true)
               FROM generate_subscripts(i.indkey, 1) AS k
              WHERE k < i.indnkeyatts
              ORDER BY k) AS key_columns,
       pg_relation_size(i.indexrelid) AS size_bytes,
       s.idx_scan
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
 WHERE i.indrelid = ANY($1::oid[]);
