//! `temp-file-spills`: the current database wrote many temporary files since its statistics were
//! reset (sorts, hashes and other operations that did not fit in `work_mem`).
//!
//! Reads `temp_files` and `temp_bytes` of `pg_stat_database`. Fires when at least
//! `min_temp_files` files and `min_temp_mb` megabytes were written.

use super::dbutil::{bytes, count, duration_s};
use super::{Finding, RuleCtx};
use crate::collect::Snapshot;

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let Some(db) = &snap.database else {
        return;
    };
    let files = db.temp_files as f64;
    let b = db.temp_bytes as f64;
    if files < ctx.threshold("min_temp_files").max(1.0)
        || b < ctx.threshold("min_temp_mb") * 1024.0 * 1024.0
    {
        return;
    }
    let since = match &db.stats_reset {
        Some(r) => format!(
            "since the statistics were reset ({r}, {} ago)",
            duration_s(db.stats_age_s)
        ),
        // Counters survive clean restarts: the server's uptime is a lower bound.
        None => format!(
            "since the statistics began (never reset; at least the {} the server has been up)",
            duration_s(db.stats_age_s)
        ),
    };
    let avg = b / files;
    let wm = snap
        .server
        .setting_display("work_mem")
        .unwrap_or_else(|| "?".into());
    let per_day = if db.stats_age_s > 0.0 {
        b / (db.stats_age_s / 86400.0)
    } else {
        b
    };
    let message = format!(
        "database {} wrote {} temporary files, {} in all, {since}: {} per file on average \
         (work_mem is {wm}), about {} a day",
        snap.server.database,
        count(files),
        bytes(b),
        bytes(avg),
        bytes(per_day)
    );
    let advice = format!(
        "Find the queries that spill: set `log_temp_files = 0` (or a size such as '10MB') and \
         read the log, or sort pg_stat_statements by temp_blks_written; `EXPLAIN (ANALYZE, \
         BUFFERS)` one of them and run `pgdiag analyze` on it. Then give those queries more \
         memory where they run (`SET work_mem = '{}'` in the session, or `ALTER ROLE … SET \
         work_mem`) rather than raising work_mem for the whole server: each sort or hash of every \
         connection may use that much. For hashes, `hash_mem_multiplier` raises only their share.",
        suggest_work_mem(avg)
    );
    ctx.db_finding()
        .message(message)
        .advice(advice)
        .evidence("temp_files", db.temp_files)
        .evidence("temp_bytes", db.temp_bytes)
        .evidence("avg_file_bytes", avg)
        .evidence("stats_age_s", db.stats_age_s)
        .evidence("work_mem", wm)
        .push(out);
}

/// A work_mem that holds a spill of `avg` bytes (temp files are more compact than memory, so
/// twice that, as a power of two in MB).
fn suggest_work_mem(avg: f64) -> String {
    super::util::work_mem_for_kb(avg * 2.0 / 1024.0).1
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::snapshot;
    use crate::collect::DatabaseStats;

    fn snap(files: i64, bytes: i64) -> crate::collect::Snapshot {
        let mut s = snapshot(vec![]);
        s.database = Some(DatabaseStats {
            temp_files: files,
            temp_bytes: bytes,
            stats_age_s: 86400.0,
            ..DatabaseStats::default()
        });
        s
    }

    #[test]
    fn fires_over_the_floor() {
        let f = check_one_snapshot(&snap(200, 4 << 30), "D003", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["temp_files"], 200);
        assert!(
            f[0].message.contains("200 temporary files"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("4.0 GB"), "{}", f[0].message);
        assert!(f[0].message.contains("work_mem is 4MB"), "{}", f[0].message);
        assert!(f[0].advice.contains("log_temp_files"));
    }

    #[test]
    fn quiet_without_spills() {
        assert!(check_one_snapshot(&snap(0, 0), "D003", &[]).is_empty());
        assert!(check_one_snapshot(&snap(3, 1 << 20), "D003", &[]).is_empty());
        assert!(check_one_snapshot(
            &crate::rules::dbutil::testing::snapshot(vec![]),
            "D003",
            &[]
        )
        .is_empty());
    }
}
