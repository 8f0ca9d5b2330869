//! `low-cache-hit`: nodes (or the whole plan) that read many blocks from outside shared_buffers.
//!
//! Per node, on its *exclusive* shared buffers (its own reads, not its children's): hit ratio =
//! hit / (hit + read). A node fires when it read at least `min_read_blocks` and its hit ratio is
//! below `max_hit_ratio`. The plan as a whole (sum of exclusive buffers) fires only when no single
//! node did but the total qualifies, i.e. when the reads are spread over many nodes; so the same
//! blocks are never reported twice. I/O read time is the node's own (its figure minus its
//! children's), when `track_io_timing` printed it.

use super::util::{count, pct, push_count, push_one_decimal, push_pct};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_read = ctx.threshold("min_read_blocks");
    let max_ratio = ctx.threshold("max_hit_ratio");
    let mut total_hit = 0.0;
    let mut total_read = 0.0;
    let mut fired = false;
    for node in &plan.nodes {
        let Some(b) = node.exclusive_buffers else {
            continue;
        };
        total_hit += b.shared_hit;
        total_read += b.shared_read;
        let touched = b.shared_hit + b.shared_read;
        if b.shared_read < min_read || touched <= 0.0 {
            continue;
        }
        let ratio = b.shared_hit / touched;
        if ratio >= max_ratio {
            continue;
        }
        fired = true;
        let io = own_read_ms(plan, node);
        // Written piece by piece into one buffer (no string per piece).
        let mut message = String::with_capacity(256);
        node.write_label(&mut message);
        message.push_str(" found only ");
        push_pct(&mut message, ratio);
        message.push_str(" of its ");
        push_count(&mut message, touched);
        message.push_str(" shared blocks in shared_buffers: ");
        push_count(&mut message, b.shared_hit);
        message.push_str(" hit, ");
        push_count(&mut message, b.shared_read);
        message.push_str(" read (");
        push_count(&mut message, b.shared_read * 8.0 / 1024.0);
        message.push_str(" MB) from the OS cache or disk");
        push_io_text(&mut message, io, b.shared_read, node.inclusive_ms);
        let mut f = ctx
            .finding(plan, Some(node.id))
            .message(message)
            .advice(advice(io.is_some()))
            .evidence("shared_hit_blocks", b.shared_hit)
            .evidence("shared_read_blocks", b.shared_read)
            .evidence("hit_ratio", ratio);
        if let Some(ms) = io {
            f = f.evidence("io_read_ms", ms);
        }
        f.push(out);
    }
    let touched = total_hit + total_read;
    if fired || total_read < min_read || touched <= 0.0 {
        return;
    }
    let ratio = total_hit / touched;
    if ratio >= max_ratio {
        return;
    }
    // The read time of the whole plan, asked only now: it needs every node's I/O figures and
    // its children's, which the loop above reads only for the nodes that fire.
    let mut total_io: Option<f64> = None;
    for node in &plan.nodes {
        if node.exclusive_buffers.is_none() {
            continue;
        }
        if let Some(ms) = own_read_ms(plan, node) {
            *total_io.get_or_insert(0.0) += ms;
        }
    }
    let mut message = format!(
        "the query found only {} of its {} shared blocks in shared_buffers: {} hit, {} read \
         ({} MB), spread over several nodes",
        pct(ratio),
        count(touched),
        count(total_hit),
        count(total_read),
        count(total_read * 8.0 / 1024.0),
    );
    push_io_text(&mut message, total_io, total_read, plan.total_ms());
    let mut f = ctx
        .finding(plan, None)
        .message(message)
        .advice(advice(total_io.is_some()))
        .evidence("shared_hit_blocks", total_hit)
        .evidence("shared_read_blocks", total_read)
        .evidence("hit_ratio", ratio);
    if let Some(ms) = total_io {
        f = f.evidence("io_read_ms", ms);
    }
    f.push(out);
}

/// The node's own shared read time: its figure minus its children's, never negative.
fn own_read_ms(plan: &Plan, node: &Node) -> Option<f64> {
    let mine = node.io().shared_read_ms?;
    let kids: f64 = node
        .children
        .iter()
        .filter_map(|&c| plan.nodes[c].io().shared_read_ms)
        .sum();
    Some((mine - kids).max(0.0))
}

/// The read time and throughput, appended to the message (nothing without I/O timing).
fn push_io_text(s: &mut String, io: Option<f64>, read: f64, total_ms: Option<f64>) {
    use std::fmt::Write;
    let Some(ms) = io else {
        return;
    };
    // Writing to a String cannot fail.
    s.push_str("; reading took ");
    push_one_decimal(s, ms);
    s.push_str(" ms");
    if ms > 0.0 {
        let _ = write!(s, " ({:.0} MB/s", read * 8.0 / 1024.0 / (ms / 1000.0));
        if let Some(t) = total_ms.filter(|t| *t > 0.0) {
            s.push_str(", ");
            push_pct(s, (ms / t).min(1.0));
            s.push_str(" of the time");
        }
        s.push(')');
    }
}

fn advice(has_io: bool) -> String {
    let mut a = String::from(
        "If the data was simply not cached yet (first run after a restart, a rarely read table), \
         this is expected: run the query again and compare. If it stays low, the working set does \
         not fit: read fewer blocks (an index instead of a full scan, fewer columns, a smaller \
         table through partitioning or archiving), or size the cache: shared_buffers (often about \
         25% of RAM) and effective_cache_size (about the memory available for caching, so the \
         planner costs index scans right).",
    );
    if !has_io {
        a.push_str(
            " Turn on track_io_timing (`SET track_io_timing = on`, superuser or granted) to see \
             how long the reads took.",
        );
    } else {
        a.push_str(
            " A high read throughput means the blocks came from the OS page cache; a low one \
             means real disk reads.",
        );
    }
    a
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};

    const DIR: &str = "low-cache-hit";

    #[test]
    fn cold_table_scan_fires_on_the_scan() {
        let plan = fixture(DIR, "fire");
        let f = check_one(&plan, "P005");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(1));
        assert_eq!(plan.nodes[1].node_type, "Seq Scan");
        let ratio = f[0].evidence["hit_ratio"].as_f64().unwrap();
        assert!(ratio < 0.5, "{ratio}");
        assert!(f[0].evidence["shared_read_blocks"].as_f64().unwrap() > 5000.0);
        assert!(f[0].evidence["io_read_ms"].as_f64().unwrap() > 0.0);
        assert!(f[0].advice.contains("shared_buffers"));
    }

    #[test]
    fn cached_table_is_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P005").is_empty());
    }

    #[test]
    fn corpus_never_double_reports() {
        for (name, plan) in corpus() {
            let f = check_one(&plan, "P005");
            let whole = f.iter().filter(|x| x.node.is_none()).count();
            assert!(whole == 0 || f.len() == 1, "{name}");
        }
    }
}
