-- Server identity and the settings the rules read. Works for any role (pg_settings is public).
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       pg_is_in_recovery() AS in_recovery,
       current_database() AS database,
       current_user AS role,
       pg_has_role(current_user, 'pg_monitor', 'USAGE')
         OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS can_monitor,
       (SELECT json_object_agg(name, json_build_object('setting', setting, 'unit', unit, 'source', source))
          FROM pg_settings
         WHERE name IN ('work_mem', 'hash_mem_multiplier', 'maintenance_work_mem', 'max_connections',
                        'superuser_reserved_connections', 'reserved_connections', 'shared_buffers', 'effective_cache_size',
                        'random_page_cost', 'seq_page_cost', 'effective_io_concurrency',
                        'track_io_timing', 'track_counts', 'autovacuum', 'autovacuum_naptime',
                        'autovacuum_vacuum_scale_factor', 'autovacuum_vacuum_threshold',
                        'autovacuum_analyze_scale_factor', 'autovacuum_analyze_threshold',
                        'autovacuum_vacuum_insert_scale_factor', 'autovacuum_max_workers',
                        'default_statistics_target', 'jit', 'jit_above_cost',
                        'max_parallel_workers', 'max_parallel_workers_per_gather',
                        'max_worker_processes', 'idle_in_transaction_session_timeout',
                        'statement_timeout', 'lock_timeout', 'temp_file_limit',
                        'hot_standby_feedback', 'old_snapshot_threshold')) AS settings;
