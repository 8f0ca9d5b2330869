//! Small helpers shared by the plan rules: number formatting, relation names, `work_mem` sizes,
//! and (for tests) fixture loading.

use crate::plan::{Node, Plan};

use super::predicate::push_quoted_ident;

/// `1234567` → `1,234,567` (rounded to a whole number).
pub fn count(n: f64) -> String {
    let mut out = String::new();
    push_count(&mut out, n);
    out
}

/// `count`, appended to `out` (no string of its own: messages quote several counts).
pub fn push_count(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str(&n.to_string());
        return;
    }
    let v = n.round() as i128;
    // `as` saturates: a huge negative count is i128::MIN, whose `abs` would overflow.
    let magnitude = v.unsigned_abs();
    // Decimal digits, least significant first (u128::MAX has 39). Counts fit in 64 bits, whose
    // division is an instruction; 128-bit division is a library call.
    let mut digits = [0u8; 39];
    let mut len = 0;
    // The same loop for both widths: only the type of `rest` differs.
    macro_rules! take_digits {
        ($rest:expr) => {{
            let mut rest = $rest;
            loop {
                digits[len] = (rest % 10) as u8;
                len += 1;
                rest /= 10;
                if rest == 0 {
                    break;
                }
            }
        }};
    }
    match u64::try_from(magnitude) {
        Ok(rest) => take_digits!(rest),
        Err(_) => take_digits!(magnitude),
    }
    // The text, written backwards into a stack buffer (digits, a separator every three, the
    // sign) and appended at once.
    let mut text = [0u8; 52];
    let mut at = text.len();
    for (i, d) in digits[..len].iter().enumerate() {
        if i > 0 && i % 3 == 0 {
            at -= 1;
            text[at] = b',';
        }
        at -= 1;
        text[at] = b'0' + d;
    }
    if v < 0 {
        at -= 1;
        text[at] = b'-';
    }
    // Only ASCII was written.
    out.push_str(std::str::from_utf8(&text[at..]).unwrap_or_default());
}

/// `1234567.4` → `1234567`: a whole number without separators, for counts quoted inside a
/// sentence next to other plan figures.
pub fn whole(v: f64) -> String {
    format!("{}", v.round() as i64)
}

/// A duration in ms at the precision EXPLAIN's figures deserve: `254 ms`, `18.1 ms`, `0.052 ms`.
pub fn ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

/// `0.9951` → `99.5%`.
pub fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// `pct`, appended to `out`.
pub fn push_pct(out: &mut String, r: f64) {
    push_one_decimal(out, r * 100.0);
    out.push('%');
}

/// `x` with one decimal, appended to `out`: the text of `format!("{x:.1}")`, most of the time
/// without its exact decimal expansion (which costs more than the rest of a message on plans
/// with thousands of findings).
pub fn push_one_decimal(out: &mut String, x: f64) {
    let tenths = x.abs() * 10.0;
    // Below 10^12 (NaN and infinities are not) the product is within 2^-13 of |x| × 10, so when
    // its fraction is more than 10^-3 away from one half, |x| × 10 rounds to the same whole
    // number of tenths as the product does. Closer to a tie, the standard formatting decides.
    if tenths < 1e12 && (tenths - tenths.floor() - 0.5).abs() > 1e-3 {
        let tenths = tenths.round() as u64;
        // `format!` writes the sign of every negative number, `-0.0` included.
        if x.is_sign_negative() {
            out.push('-');
        }
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = tenths / 10;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
        out.push('.');
        out.push(char::from(b'0' + (tenths % 10) as u8));
        return;
    }
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{x:.1}");
}

/// `schema.table`, quoted as needed; `None` for nodes without a relation.
pub fn relation_name(node: &Node) -> Option<String> {
    let rel = node.relation.as_deref()?;
    // Room for the names, a dot and two pairs of quotes: one allocation.
    let mut out = String::with_capacity(node.schema.as_deref().map_or(0, str::len) + rel.len() + 5);
    if let Some(s) = node.schema.as_deref() {
        push_quoted_ident(&mut out, s);
        out.push('.');
    }
    push_quoted_ident(&mut out, rel);
    Some(out)
}

/// The names a scan's columns can be qualified with: its alias and its relation name.
pub fn own_names(node: &Node) -> Vec<&str> {
    let mut v = Vec::new();
    if let Some(a) = node.alias.as_deref() {
        v.push(a);
    }
    if let Some(r) = node.relation.as_deref() {
        v.push(r);
    }
    v
}

/// A `work_mem` value that holds `kb` kilobytes: the next power of two in MB (at least 1MB),
/// printed the way PostgreSQL accepts it (`64MB`, `2GB`).
pub fn work_mem_for_kb(kb: f64) -> (f64, String) {
    let mut mb = 1.0f64;
    let need_mb = if kb.is_finite() { kb / 1024.0 } else { 1.0 };
    while mb < need_mb && mb < 1024.0 * 1024.0 {
        mb *= 2.0;
    }
    let text = if mb >= 1024.0 {
        format!("{}GB", mb / 1024.0)
    } else {
        format!("{mb}MB")
    };
    (mb * 1024.0, text)
}

/// A `work_mem`-like setting value (`4MB`, `64kB`, `1GB`, `4096`) in kB.
pub fn setting_kb(v: &str) -> Option<f64> {
    let v = v.trim().trim_matches('\'');
    let idx = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let n: f64 = v[..idx].parse().ok()?;
    let mult = match v[idx..].trim() {
        "" | "kB" => 1.0,
        "B" => 1.0 / 1024.0,
        "MB" => 1024.0,
        "GB" => 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(n * mult)
}

/// A setting printed by `EXPLAIN (SETTINGS)`.
pub fn setting<'a>(plan: &'a Plan, name: &str) -> Option<&'a str> {
    plan.settings
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `v` rounded to `decimals` places, for evidence figures (`12.3456` → `12.346` at 3).
pub fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

/// A scan of a table or index: it keeps no work_mem state of its own, so temp blocks charged to
/// it come from what it calls (a function in its filter or output list running its own queries).
pub fn is_table_or_index_scan(node: &crate::plan::Node) -> bool {
    matches!(
        node.node_type.as_str(),
        "Seq Scan"
            | "Index Scan"
            | "Index Only Scan"
            | "Bitmap Heap Scan"
            | "Bitmap Index Scan"
            | "Tid Scan"
            | "Tid Range Scan"
            | "Sample Scan"
    )
}

#[cfg(test)]
pub mod testing {
    use std::path::PathBuf;

    use crate::plan::{parse_source, Plan};

    /// The first plan of `fixtures/rules/<dir>/<case>.json`.
    pub fn fixture(dir: &str, case: &str) -> Plan {
        load(&format!("rules/{dir}/{case}.json"))
    }

    /// The first plan of `fixtures/<rel>`.
    pub fn load(rel: &str) -> Plan {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        parse_source(&path.display().to_string(), &text)
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
    }

    /// The first plan of an EXPLAIN text (or JSON) written out in a test.
    pub fn plan_of(text: &str) -> Plan {
        parse_source("test plan", text)
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
    }

    /// A Sort pasted without its input node (as in pev2's `from-text-41`): one planned row, 498
    /// came, and the rows sorted are unknown.
    pub const SORT_WITHOUT_INPUT: &str = "Sort  (cost=585066.84..585066.85 rows=1 width=473) \
        (actual time=156773.141..156784.582 rows=498 loops=1)\n  Sort Key: au.login\n  \
        Sort Method: quicksort  Memory: 281kB\nPlanning Time: 38.350 ms\n\
        Execution Time: 156803.034 ms\n";

    /// Every plan of every `fixtures/plans/generated/**/*.json`, with its file name.
    pub fn corpus() -> Vec<(String, Plan)> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans/generated");
        let mut files = Vec::new();
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let name = f.display().to_string();
            if let Ok(plans) = parse_source(&name, &text) {
                for p in plans {
                    out.push((name.clone(), p));
                }
            }
        }
        assert!(!out.is_empty(), "no corpus plans found");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_decimal_is_the_standard_formatting() {
        let mut values = vec![
            0.0,
            -0.0,
            0.05,
            0.15,
            0.25,
            0.35,
            -0.04,
            -0.05,
            -0.25,
            0.95,
            9.95,
            99.95,
            1.0 / 3.0,
            2.0 / 3.0,
            12.345,
            38.802,
            100.0,
            0.9166666666666666,
            91.66666666666666,
            1e11 + 0.05,
            1e12 - 0.04,
            1e12,
            1e12 + 0.05,
            123456789.25,
            5e-324,
            1e-300,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Pseudo-random values over many magnitudes, and ratios as the rules print them.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let unit = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let scale = 10f64.powi(i % 16 - 3);
            values.push(unit * scale);
            values.push(-unit * scale);
            values.push(unit * 100.0);
            // Ties and near-ties in tenths.
            values.push(((seed % 100_000) as f64 + 0.5) / 10.0);
            values.push((seed % 1_000) as f64 / 1000.0 * 100.0);
        }
        for x in values {
            let mut got = String::from("…");
            push_one_decimal(&mut got, x);
            assert_eq!(got, format!("…{x:.1}"), "{x:e}");
            let mut pct_text = String::new();
            push_pct(&mut pct_text, x);
            assert_eq!(pct_text, pct(x), "{x:e}");
        }
    }

    const MINE: [&str; 6] = ["P001", "P002", "P003", "P004", "P005", "P006"];

    /// Every rule of P001–P006 over every corpus plan: no panic, well-formed findings, and the
    /// obvious cases fire.
    #[test]
    fn corpus_all_rules() {
        let mut summary = Vec::new();
        for (name, plan) in testing::corpus() {
            let mut fired = Vec::new();
            for r in MINE {
                for f in crate::rules::check_one(&plan, r) {
                    assert!(
                        !f.message.is_empty() && !f.advice.is_empty(),
                        "{name}: {f:?}"
                    );
                    if let Some(n) = f.node {
                        assert!(n < plan.nodes.len());
                        assert!(f.path.as_deref().is_some_and(|p| !p.is_empty()));
                    }
                    fired.push(r);
                }
            }
            let base = std::path::Path::new(&name)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let analyzed = plan.analyzed();
            let expect = |case: &str, rule: &str| {
                if base.starts_with(case) && analyzed {
                    assert!(
                        fired.contains(&rule),
                        "{name} should fire {rule}: {fired:?}"
                    );
                }
            };
            expect("a_seqscan_selective", "P001");
            expect("c_sort_external_merge", "P003");
            expect("d_hashjoin_batches", "P003");
            expect("e_bitmap_lossy", "P006");
            if !analyzed {
                assert!(fired.is_empty(), "{name}: no actuals, yet {fired:?}");
            }
            summary.push(format!("{name}: {fired:?}"));
        }
        println!("{}", summary.join("\n"));
    }

    /// The same plans with every measured figure removed (as printed without ANALYZE, BUFFERS or
    /// COSTS): nothing panics and nothing fires.
    #[test]
    fn stripped_plans_are_quiet() {
        for (name, mut plan) in testing::corpus() {
            for n in &mut plan.nodes {
                let keep = (
                    n.id,
                    n.parent,
                    n.depth,
                    n.children.clone(),
                    n.node_type.clone(),
                );
                let mut fresh = crate::plan::Node::default();
                (
                    fresh.id,
                    fresh.parent,
                    fresh.depth,
                    fresh.children,
                    fresh.node_type,
                ) = keep;
                fresh.filter = n.filter.clone();
                fresh.details_mut().sort_key = n.details().sort_key.clone();
                *n = fresh;
            }
            plan.execution_ms = None;
            for r in MINE {
                let f = crate::rules::check_one(&plan, r);
                assert!(
                    f.is_empty(),
                    "{name}: {r} fired on a plan without figures: {f:?}"
                );
            }
        }
    }

    /// Print what P001–P006 say about their fixtures:
    /// `cargo test --lib show_findings -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn show_findings() {
        for (rule, dir) in [
            ("P001", "seq-scan-large-table"),
            ("P002", "row-estimate-mismatch"),
            ("P003", "work-mem-spill"),
            ("P004", "filter-removes-most-rows"),
            ("P005", "low-cache-hit"),
            ("P006", "lossy-bitmap"),
        ] {
            let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/rules")
                .join(dir);
            let mut cases: Vec<String> = std::fs::read_dir(&d)
                .unwrap()
                .flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.strip_suffix(".json").map(str::to_string)
                })
                .collect();
            cases.sort();
            for c in cases {
                let plan = testing::fixture(dir, &c);
                for f in crate::rules::check_one(&plan, rule) {
                    println!(
                        "== {rule} {dir}/{c} [{}] node {:?}\n  path: {}\n  msg: {}\n  advice: {}\n  evidence: {}\n",
                        f.severity,
                        f.node,
                        f.path.clone().unwrap_or_default(),
                        f.message,
                        f.advice,
                        serde_json::to_string(&f.evidence).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn counts_and_sizes() {
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(12.0), "12");
        assert_eq!(count(-1234.0), "-1,234");
        // Beyond i128: saturated, never an overflow.
        assert!(count(-1e300).starts_with("-170,141,183"));
        assert!(count(1e300).starts_with("170,141,183"));
        // Digits and separators as `format!` and a grouping pass over its digits give them,
        // on both sides of the 64-bit fast path.
        let by_format = |n: f64| {
            let v = n.round() as i128;
            let digits = v.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            if v < 0 {
                format!("-{grouped}")
            } else {
                grouped
            }
        };
        for n in [
            0.0,
            -0.4,
            0.5,
            999.0,
            1000.0,
            -999_999.6,
            123_456_789.0,
            u64::MAX as f64,
            -(u64::MAX as f64),
            1.9e19,
            -3.4e38,
            1e300,
            -1e300,
        ] {
            assert_eq!(count(n), by_format(n), "{n}");
        }
        assert_eq!(count(f64::NAN), "NaN");
        assert_eq!(count(f64::INFINITY), "inf");
        assert_eq!(work_mem_for_kb(100.0).1, "1MB");
        assert_eq!(work_mem_for_kb(27792.0).1, "32MB");
        assert_eq!(work_mem_for_kb(32768.0).1, "32MB");
        assert_eq!(work_mem_for_kb(32769.0).1, "64MB");
        assert_eq!(work_mem_for_kb(3.0 * 1024.0 * 1024.0).1, "4GB");
        assert_eq!(setting_kb("64kB"), Some(64.0));
        assert_eq!(setting_kb("4MB"), Some(4096.0));
        assert_eq!(setting_kb("1GB"), Some(1048576.0));
        assert_eq!(setting_kb("x"), None);
    }
}
