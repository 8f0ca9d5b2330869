//! Property tests of the plan readers: whatever the input, `parse_source` returns `Ok` or a located
//! `Err`, never panics and never overflows the stack; a plan it accepts has finite derived times,
//! non-negative exclusive times, and survives every rule and every report renderer.
//!
//! Inputs: arbitrary strings; structured mutations of the plans in `fixtures/plans/generated/**`
//! (and of the team corpus `shared/plans/real/plans/**` when present: YAML and XML live only there);
//! very deep nesting. Bounded for CI (a few hundred cases per property). Deeper runs: `fuzz/`.
//! `PROPTEST_CASES=N` raises the case count.

mod common;

#[path = "../benches/plan_gen/mod.rs"]
mod plan_gen;

use std::path::PathBuf;
use std::sync::OnceLock;

use pgdiag::plan::parse_source;
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------------------------
// The property: one definition, shared with the cargo-fuzz target (`pgdiag::fuzzing`).

fn check(input: &str) {
    pgdiag::fuzzing::check_parse_property(input);
}

// ---------------------------------------------------------------------------------------------
// Corpus

/// Every plan file: the fixtures, and the shared corpus when it is here.
fn corpus() -> &'static [(String, String)] {
    static CORPUS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut dirs: Vec<PathBuf> = vec![common::root().join("fixtures/plans/generated")];
        if let Some(shared) = common::shared_plans() {
            dirs.push(shared.join("real/plans"));
        }
        let mut out = Vec::new();
        for d in dirs {
            for f in common::files_with_ext(&d, &["json", "txt", "yaml", "yml", "xml"]) {
                if let Ok(s) = std::fs::read_to_string(&f) {
                    out.push((f.display().to_string(), s));
                }
            }
        }
        assert!(
            out.len() > 100,
            "plan corpus not found ({} files)",
            out.len()
        );
        out
    })
}

fn cases(n: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n);
    Config {
        cases: n,
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut at the `nth` occurrence (mod count) of a boundary character, or at a byte offset.
    TruncateAt(char, usize),
    TruncateBytes(usize),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Add (positive) or remove (negative) leading spaces on a line.
    Reindent(usize, i8),
    /// Replace the `nth` number with odd text.
    ReplaceNumber(usize, &'static str),
    /// Insert odd characters at a byte offset.
    Insert(usize, &'static str),
    /// Wrap the whole input as psql would print it.
    PsqlFrame(u8),
}

const BOUNDARIES: &[char] = &[
    '\n', '{', '}', '[', ']', ':', ',', '"', '(', ')', '=', '.', ' ', '>', '-', '<', '/', 'e',
];

const ODD_NUMBERS: &[&str] = &[
    "1e308",
    "-1e308",
    "1e999",
    "-1",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e-400",
    "99999999999999999999999999999999999999",
    "0x1F",
    "",
    "1..2",
    "..",
    "١٢٣",
    "1,5",
    "+5",
    ".",
    "18446744073709551616",
    "-9223372036854775809",
    "\"12\"",
    "null",
    "true",
    "[]",
    "{}",
    "\"NaN\"",
    "\"inf\"",
    "\"-1e308\"",
    "\" 7 \"",
];

const ODD_TEXT: &[&str] = &[
    "\0",
    "\u{7f}",
    "\u{1b}[31m",
    "\r",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{202e}",
    "é",
    "e\u{301}",
    "😀",
    "\u{10FFFF}",
    "\u{2028}",
    "ß",
    "İ",
    "\\",
    "\"",
    "'",
    "->",
    "  ->  ",
    "(never executed)",
    "{",
    "[",
    "}",
    "]",
    "\n\n",
    "+",
    "│",
    "║",
    " (cost=",
    "rows=",
    "..",
    "Plan:",
    "<",
    "&amp;",
    "&#0;",
    "- ",
    ": ",
    "---",
    "%",
    "\u{a0}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let idx = any::<usize>();
    prop_oneof![
        (prop::sample::select(BOUNDARIES), idx).prop_map(|(c, n)| Mutation::TruncateAt(c, n)),
        idx.prop_map(Mutation::TruncateBytes),
        idx.prop_map(Mutation::DeleteLine),
        idx.prop_map(Mutation::DuplicateLine),
        (idx, any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (idx, -8i8..8).prop_map(|(l, d)| Mutation::Reindent(l, d)),
        (idx, prop::sample::select(ODD_NUMBERS)).prop_map(|(n, s)| Mutation::ReplaceNumber(n, s)),
        (idx, prop::sample::select(ODD_TEXT)).prop_map(|(n, s)| Mutation::Insert(n, s)),
        (0u8..6).prop_map(Mutation::PsqlFrame),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(input: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = input.split('\n').collect();
    let nl = lines.len().max(1);
    match *m {
        Mutation::TruncateAt(c, n) => {
            let hits: Vec<usize> = input.match_indices(c).map(|(i, _)| i).collect();
            if hits.is_empty() {
                return input.to_string();
            }
            let at = hits[n % hits.len()];
            // Both just before and just after the boundary.
            let at = if n % 2 == 0 { at } else { at + c.len_utf8() };
            input[..at].to_string()
        }
        Mutation::TruncateBytes(n) => {
            let at = floor_boundary(input, n % (input.len() + 1));
            input[..at].to_string()
        }
        Mutation::DeleteLine(n) => {
            lines.remove(n % nl);
            lines.join("\n")
        }
        Mutation::DuplicateLine(n) => {
            let l = lines[n % nl];
            lines.insert(n % nl, l);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            lines.swap(a % nl, b % nl);
            lines.join("\n")
        }
        Mutation::Reindent(n, d) => {
            let i = n % nl;
            let l = lines[i];
            let owned = if d >= 0 {
                format!("{}{l}", " ".repeat(d as usize))
            } else {
                let strip = l.len() - l.trim_start_matches(' ').len();
                l[strip.min((-d) as usize)..].to_string()
            };
            let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            out[i] = owned;
            out.join("\n")
        }
        Mutation::ReplaceNumber(n, with) => {
            // Numbers: runs of digits with an optional fraction.
            let b = input.as_bytes();
            let mut spans = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_digit() {
                    let s = i;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                        i += 1;
                    }
                    spans.push((s, i));
                } else {
                    i += 1;
                }
            }
            if spans.is_empty() {
                return input.to_string();
            }
            let (s, e) = spans[n % spans.len()];
            format!("{}{with}{}", &input[..s], &input[e..])
        }
        Mutation::Insert(n, what) => {
            let at = floor_boundary(input, n % (input.len() + 1));
            format!("{}{what}{}", &input[..at], &input[at..])
        }
        Mutation::PsqlFrame(style) => psql_frame(input, style),
    }
}

/// The input as psql prints a one-column result, in a few of its styles.
fn psql_frame(input: &str, style: u8) -> String {
    let lines: Vec<&str> = input.trim_end_matches('\n').split('\n').collect();
    let w = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    let pad = |l: &str| format!("{l}{}", " ".repeat(w - l.chars().count()));
    let mut out = String::new();
    match style {
        // aligned, ascii
        0 => {
            out.push_str(&format!(" {:^w$} \n", "QUERY PLAN"));
            out.push_str(&format!("{}\n", "-".repeat(w + 2)));
            for l in &lines {
                out.push_str(&format!(" {}\n", pad(l)));
            }
            out.push_str(&format!("({} rows)\n", lines.len()));
        }
        // aligned with `+` continuation (one row holding the whole JSON/text)
        1 => {
            out.push_str(&format!(" {:^w$} \n", "QUERY PLAN"));
            out.push_str(&format!("{}\n", "-".repeat(w + 2)));
            for (i, l) in lines.iter().enumerate() {
                let plus = if i + 1 < lines.len() { "+" } else { " " };
                out.push_str(&format!(" {}{plus}\n", pad(l)));
            }
            out.push_str("(1 row)\n");
        }
        // unicode double frame
        2 => {
            out.push_str(&format!("╔{}╗\n", "═".repeat(w + 2)));
            out.push_str(&format!("║ {:^w$} ║\n", "QUERY PLAN"));
            out.push_str(&format!("╠{}╣\n", "═".repeat(w + 2)));
            for l in &lines {
                out.push_str(&format!("║ {} ║\n", pad(l)));
            }
            out.push_str(&format!("╚{}╝\n", "═".repeat(w + 2)));
        }
        // ascii box
        3 => {
            out.push_str(&format!("+{}+\n", "-".repeat(w + 2)));
            out.push_str(&format!("| {:^w$} |\n", "QUERY PLAN"));
            out.push_str(&format!("+{}+\n", "-".repeat(w + 2)));
            for l in &lines {
                out.push_str(&format!("| {} |\n", pad(l)));
            }
            out.push_str(&format!("+{}+\n", "-".repeat(w + 2)));
        }
        // line numbers from an editor or a paste
        4 => {
            for (i, l) in lines.iter().enumerate() {
                out.push_str(&format!("{:>4}  {l}\n", i + 1));
            }
        }
        // unaligned with header and footer
        _ => {
            out.push_str("QUERY PLAN\n");
            for l in &lines {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str(&format!("({} rows)\n", lines.len()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(cases(300))]

    /// Any string at all.
    #[test]
    fn arbitrary_strings(s in any::<String>()) {
        check(&s);
    }

    /// Strings made of the characters plans are made of, so they get past format detection.
    #[test]
    fn plan_alphabet(
        prefix in prop::sample::select(&["", "[", "{\"Plan\": ", "- Plan:\n", "<explain", "->  ", "Seq Scan on t  (cost=", " QUERY PLAN\n---\n"][..]),
        body in "[\\[\\]{}\":,0-9a-zA-Z .\\-=()>\n|+<>/]{0,300}",
    ) {
        check(&format!("{prefix}{body}"));
    }

    /// Real plans, mutated one to four times.
    #[test]
    fn mutated_corpus(file in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..5)) {
        let (_name, text) = &corpus()[file.index(corpus().len())];
        let mut s = text.clone();
        for m in &muts {
            s = apply(&s, m);
        }
        check(&s);
    }

    /// Two real plans glued together (several EXPLAIN outputs in one file, or a bad paste).
    #[test]
    fn concatenated_corpus(a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), sep in prop::sample::select(&["", "\n", "\n\n", ";\n", "\n(1 row)\n\n"][..])) {
        let c = corpus();
        let s = format!("{}{sep}{}", c[a.index(c.len())].1, c[b.index(c.len())].1);
        check(&s);
    }

    /// Generated plans (all node kinds of the benchmark) in JSON and text, mutated.
    #[test]
    fn mutated_generated(seed in any::<u64>(), text in any::<bool>(), muts in prop::collection::vec(mutation(), 0..3)) {
        let tree = plan_gen::big_plan(seed, 1);
        let mut s = if text { plan_gen::to_text(&tree) } else { plan_gen::to_json(&tree) };
        for m in &muts {
            s = apply(&s, m);
        }
        check(&s);
    }
}

/// Every corpus file cut at every line end (at most 40 cuts a file, evenly spread): the readers'
/// commonest failure is a truncated paste.
#[test]
fn every_file_truncated_at_every_line() {
    for (_name, text) in corpus() {
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        let step = ends.len().div_ceil(40).max(1);
        for &i in ends.iter().step_by(step) {
            check(&text[..i]);
        }
        check(text);
    }
}

/// Every corpus file read whole, and framed the way psql frames it.
#[test]
fn every_file_whole_and_framed() {
    for (_name, text) in corpus() {
        check(text);
        for style in 0..6 {
            check(&psql_frame(text, style));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deep nesting: must not overflow the stack (a test thread has 2 MiB of it).

const DEEP_OPENERS: &[&str] = &[
    "[",
    "{\"a\":",
    "[{\"Plan\":",
    "{\"Plan\": {\"Node Type\": \"X\", \"Plans\": [",
    "[{\"Plan\": {\"Node Type\": \"X\", \"Foo\": ",
];

#[test]
fn deep_brackets() {
    // One level a line: 100,000 levels.
    for open in DEEP_OPENERS {
        check(&format!("{open}\n").repeat(100_000));
    }
}

/// All on one line: 100,000 levels, up to 3.8 MB without a newline. Before unknown values were
/// depth-capped, `{"a":` × 100,000 took ~250 s here (serde_json recomputing the error position,
/// a scan back to the previous newline, at each level of a `serde_json::Value` being built).
#[test]
fn deep_brackets_one_line() {
    for open in DEEP_OPENERS {
        let t = std::time::Instant::now();
        check(&open.repeat(100_000));
        eprintln!("{open}×100,000 on one line: {:?}", t.elapsed());
    }
}

/// A deep value under a key the model does not know is kept verbatim (`extra`): building,
/// rendering and dropping it must not recurse once per level.
#[test]
fn deep_unknown_value() {
    let depth = 100_000;
    for (head, tail) in [
        ("[{\"Plan\": {\"Node Type\": \"Result\", \"Foo\": ", "}}]"),
        ("[{\"Plan\": {\"Node Type\": \"Result\"}, \"Foo\": ", "}]"),
        (
            "[{\"Plan\": {\"Node Type\": \"Result\"}, \"Triggers\": ",
            "}]",
        ),
        ("[{\"Plan\": {\"Node Type\": \"Result\"}, \"JIT\": ", "}]"),
    ] {
        let s = format!("{head}{}1{}{tail}", "[".repeat(depth), "]".repeat(depth));
        check(&s);
    }
}

#[test]
fn deep_plan_json() {
    // Without indentation: indented, a 10,000-deep plan is gigabytes.
    let tree = plan_gen::deep_chain(10_000);
    let json = plan_gen::to_json_compact(&tree);
    plan_gen::drop_deep(tree);
    on_small_stack(move || {
        check(&json);
        let p = parse_source("deep.json", &json).expect("a valid 10,000-deep JSON plan reads");
        assert_eq!(p[0].nodes.len(), 10_000);
    });
}

/// A deep plan read in chunks: the readers ahead run on threads with the default stack, and each
/// starts deep inside the tree; they, like the first reader, grow the stack where a plan nests.
#[test]
fn deep_plan_json_read_in_chunks() {
    let tree = plan_gen::deep_chain(10_000);
    let json = plan_gen::to_json_compact(&tree);
    plan_gen::drop_deep(tree);
    let whole = pgdiag::plan::parse::json::parse_plans_fast_on(&json, 1)
        .0
        .expect("reads in one go");
    assert_eq!(whole[0].nodes.len(), 10_000);
    let ahead = read_in_chunks_matches("10,000-deep plan", &json, &whole, 3);
    assert!(ahead >= 1_000, "{ahead} nodes read ahead");
}

/// Run `f` on a thread with a small stack, so that a reader recursing once per level overflows
/// well before the input gets huge.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the check panicked");
}

#[test]
fn deep_plan_text() {
    // Text is indented by nature (6 columns a level): 1,000 levels is already 3 MB. On a 256 kB
    // stack that is enough to catch a reader that recurses once per level.
    let tree = plan_gen::deep_chain(1_000);
    let text = plan_gen::to_text(&tree);
    plan_gen::drop_deep(tree);
    on_small_stack(move || {
        check(&text);
        let p = parse_source("deep.txt", &text).expect("a valid 1,000-deep text plan reads");
        assert_eq!(p[0].nodes.len(), 1_000);
    });
}

#[test]
fn wide_plan() {
    // 2,000 siblings under one Append.
    let mut tree = plan_gen::deep_chain(2);
    let leaf = tree.children[0].clone();
    tree.node_type = "Append";
    tree.children = vec![leaf; 2_000];
    check(&plan_gen::to_json(&tree));
    check(&plan_gen::to_text(&tree));
}

/// The generator's two forms of one plan read to the same tree (checks the generator against the
/// readers, and the readers against each other, on every node kind the benchmark uses).
#[test]
fn generated_json_and_text_agree() {
    for seed in 0..20u64 {
        let tree = plan_gen::big_plan(seed, 6);
        let nodes = tree.count();
        let json =
            parse_source("gen.json", &plan_gen::to_json(&tree)).expect("generated JSON reads");
        let text = parse_source("gen.txt", &plan_gen::to_text(&tree))
            .unwrap_or_else(|e| panic!("generated text (seed {seed}) does not read: {e}"));
        assert_eq!(json[0].nodes.len(), nodes);
        assert_eq!(text[0].nodes.len(), nodes, "seed {seed}");
        for (a, b) in json[0].nodes.iter().zip(&text[0].nodes) {
            assert_eq!(a.label(), b.label(), "seed {seed} node {}", a.id);
            assert_eq!(a.parent, b.parent, "seed {seed} node {}", a.id);
            assert_eq!(a.actual_rows, b.actual_rows, "seed {seed} node {}", a.id);
            assert_eq!(a.output, b.output, "seed {seed} node {}", a.id);
        }
    }
    for depth in [2usize, 50, 300] {
        let tree = plan_gen::deep_chain(depth);
        let text = plan_gen::to_text(&tree);
        plan_gen::drop_deep(tree);
        let p =
            parse_source("deep.txt", &text).unwrap_or_else(|e| panic!("deep text {depth}: {e}"));
        assert_eq!(p[0].nodes.len(), depth);
    }
}

/// Read `text` in `threads` chunks: the plans must be `whole`'s. Returns the nodes read ahead.
fn read_in_chunks_matches(
    name: &str,
    text: &str,
    whole: &[pgdiag::plan::Plan],
    threads: usize,
) -> usize {
    let (chunked, ahead) = pgdiag::plan::parse::json::parse_plans_fast_on(text, threads);
    let chunked =
        chunked.unwrap_or_else(|| panic!("{name}: gave up when read in {threads} chunks"));
    // (The fingerprint includes the children lists, which serialization leaves out.)
    assert_eq!(
        pgdiag::fuzzing::plans_fingerprint(&chunked),
        pgdiag::fuzzing::plans_fingerprint(whole),
        "{name}: {threads} chunks"
    );
    ahead
}

/// Reading a JSON plan in chunks on several threads (`json_split`) gives the plans reading it in
/// one go gives, wherever the cuts fall: every JSON plan of the corpus, cut into 2 to 5 chunks.
#[test]
fn json_plans_read_in_chunks_match_plans_read_in_one_go() {
    use pgdiag::plan::parse::json;
    let (mut cut, mut read_ahead) = (0, 0);
    for (name, text) in corpus() {
        let (Some(whole), _) = json::parse_plans_fast_on(text, 1) else {
            continue;
        };
        for threads in 2..=5 {
            read_ahead += read_in_chunks_matches(name, text, &whole, threads);
        }
        cut += 1;
    }
    assert!(cut >= 50, "only {cut} JSON plans in the corpus");
    // Not a vacuous check: most of these plans had nodes read by the other threads.
    assert!(read_ahead > 300, "only {read_ahead} nodes were read ahead");
}

/// The same on generated plans of every shape the benchmark plan has (parallel workers, spills,
/// never-executed branches, sub-partitions), cut in many places, and on a deep chain, where every
/// cut lands deep inside the tree and the reader ahead climbs out level by level.
#[test]
fn generated_json_plans_read_in_chunks_match() {
    use pgdiag::plan::parse::json;
    for seed in 0..12u64 {
        let text = plan_gen::to_json(&plan_gen::big_plan(seed, 8 + seed as usize));
        let whole = json::parse_plans_fast_on(&text, 1).0.unwrap();
        let nodes = whole[0].nodes.len();
        for threads in [2, 3, 4, 7, 16] {
            let ahead = read_in_chunks_matches(&format!("seed {seed}"), &text, &whole, threads);
            // The chunks after the first hold half the text or more, and their nodes came from
            // there (the first chunk's reader takes some of them itself where a cut lands deep).
            assert!(
                ahead * 3 >= nodes,
                "seed {seed}, {threads} chunks: {ahead} of {nodes} nodes read ahead"
            );
        }
    }
    let tree = plan_gen::deep_chain(400);
    let text = plan_gen::to_json(&tree);
    plan_gen::drop_deep(tree);
    let whole = json::parse_plans_fast_on(&text, 1).0.unwrap();
    assert_eq!(whole[0].nodes.len(), 400);
    for threads in [2, 5] {
        let ahead = read_in_chunks_matches("deep chain", &text, &whole, threads);
        assert!(ahead >= 100, "{threads} chunks: {ahead} nodes read ahead");
    }
}

/// The fast JSON reader reads every well-formed single-document JSON plan of the corpus itself
/// (it does not quietly hand them to serde_json), and to the same plans serde_json builds.
#[test]
fn fast_json_reader_serves_every_json_plan() {
    use pgdiag::plan::parse::json;
    let mut served = 0;
    for (name, text) in corpus() {
        let single_document = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        let Ok(reference) = json::parse_plans_with_serde_json(text) else {
            continue;
        };
        if !single_document {
            continue;
        }
        let fast = json::parse_plans_fast(text).unwrap_or_else(|| {
            panic!("{name}: the fast reader gave up on a plan serde_json reads")
        });
        assert_eq!(
            pgdiag::fuzzing::plans_fingerprint(&fast),
            pgdiag::fuzzing::plans_fingerprint(&reference),
            "{name}: the two readers disagree"
        );
        served += 1;
    }
    assert!(served >= 50, "only {served} bare JSON plans in the corpus");
}
