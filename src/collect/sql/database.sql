-- Database-wide counters for the current database (pg_stat_database is readable by every role).
SELECT numbackends, xact_commit, xact_rollback, blks_read, blks_hit,
       temp_files, temp_bytes, deadlocks, conflicts,
       stats_reset::text AS stats_reset,
       extract(epoch FROM now() - coalesce(stats_reset, pg_postmaster_start_time()))::float8 AS stats_age_s,
       pg_database_size(datname) AS size_bytes
  FROM pg_stat_database
 WHERE datname = current_database();
