-- Sessions by state, with ages, for the whole server. Without pg_monitor (or superuser) the
-- state and query of other roles' sessions read as NULL: counted apart as "not visible".
SELECT pid, usename, datname, application_name, client_addr::text AS client_addr, backend_type,
       state, wait_event_type, wait_event,
       extract(epoch FROM now() - backend_start)::float8 AS backend_age_s,
       extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - query_start)::float8 AS query_age_s,
       extract(epoch FROM now() - state_change)::float8 AS state_age_s,
       backend_xmin::text AS backend_xmin,
       backend_xid::text AS backend_xid,
       greatest(age(backend_xmin), age(backend_xid)) AS xmin_age,
       left(query, 300) AS query,
       pg_blocking_pids(pid) AS blocked_by
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid();
