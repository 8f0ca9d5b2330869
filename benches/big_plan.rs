//! `cargo bench --bench big_plan`: how pgdiag copes with a huge plan (≥ 50,000 nodes, ~100 MB of
//! JSON). A plain binary: it prints a table and asserts nothing about time.
//!
//! Measured, best of `PGDIAG_BENCH_RUNS` runs (default 7), in wall-clock and in the process's CPU
//! time, all threads together ((a), (b), (c) and (c1) take turns, so a busy moment on a shared
//! machine slows all of them); the target compares wall-clock times:
//! (a) `serde_json::from_slice::<IgnoredAny>` — validation only, the floor for any JSON reader;
//! (b) `parse_source` on the JSON — parse + derive;
//! (c) (b) + `rules::check_plan` — the full analysis, on the machine's cores (`pgdiag::threads`);
//! (c1) (c) on one thread (`--threads 1`);
//! (d) `parse_source` on the same plan's text form, in MB/s;
//! (e) peak heap during (c), above the baseline (the input held in memory), from a counting
//!     global allocator;
//! (f) `parse_source` on a 105 MB text plan framed as psql prints it (header, `(N rows)`).
//!
//! `PGDIAG_BENCH_PROFILE=N` runs only (c), N times (for `perf record`); `=text:N` the text parse;
//! `=framed:N` (f) (`PGDIAG_BENCH_FRAMED_MB` sets its size, default 100 MiB);
//! `=clean:N` / `=clean-full:N` the psql cleaner alone (quick path tried first / every pass).
//! `=validate:N` only (a) and `=parse:N` only (b) (to compare instruction counts under callgrind);
//! `=check:N` parses once, then runs only `check_plan` N times; `=chunks:T` reads the JSON in one
//! go and in T chunks (`json_split`), five times each, printing times and nodes read ahead.
//! `PGDIAG_THREADS=N` caps the threads, as it does for the binary.
//! `PGDIAG_BENCH_BRANCHES` changes the plan size (default 5,600 UNION branches ≈ 51,000 nodes);
//! `PGDIAG_BENCH_DUMP=dir` writes `big_plan.json` and `big_plan.txt` there.

#[path = "plan_gen/mod.rs"]
mod plan_gen;

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pgdiag::plan::parse_source;
use pgdiag::rules::{check_plan, EngineSettings};

// ---------------------------------------------------------------------------------------------
// Counting allocator, over the allocator the `pgdiag` binary uses (src/main.rs), so the figures
// are the binary's. It counts only while `COUNTING` is on — during the memory measurement (e) —
// because its atomic counters cost time the binary does not pay (~10 % of a parse).

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes live now and at the peak, relative to when counting was switched on (signed: a block
/// allocated before may be freed during the count).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Allocations made (`alloc`, `alloc_zeroed`; not reallocations), for allocations per node.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

#[inline]
fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

fn grew(n: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let now = CURRENT.fetch_add(n as isize, Ordering::Relaxed) + n as isize;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(n: usize) {
    CURRENT.fetch_sub(n as isize, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { MiMalloc.alloc(l) };
        if !p.is_null() && counting() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { MiMalloc.alloc_zeroed(l) };
        if !p.is_null() && counting() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { MiMalloc.dealloc(p, l) };
        if counting() {
            shrank(l.size());
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { MiMalloc.realloc(p, l, new) };
        if !q.is_null() && counting() {
            // Count the old and new blocks as live together: a moving realloc needs both.
            grew(new);
            ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
            shrank(l.size());
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Start counting from zero.
fn start_counting() {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
}
fn stop_counting() {
    COUNTING.store(false, Ordering::Relaxed);
}
fn current() -> usize {
    CURRENT.load(Ordering::Relaxed).max(0) as usize
}
fn peak() -> usize {
    PEAK.load(Ordering::Relaxed).max(0) as usize
}

// ---------------------------------------------------------------------------------------------

/// Best (least) wall-clock and CPU time of a measurement over its runs.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    /// The process's CPU time, all its threads together (user + system, page faults included):
    /// the work done. Unlike wall-clock time it does not count the time other jobs on this shared
    /// machine held the CPU; unlike it, it adds up what threads did side by side.
    cpu: Duration,
}

fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Timing {
    const NONE: Timing = Timing {
        wall: Duration::MAX,
        cpu: Duration::MAX,
    };
    fn best(self, other: Timing) -> Timing {
        Timing {
            wall: self.wall.min(other.wall),
            cpu: self.cpu.min(other.cpu),
        }
    }
}

/// Run `f` once; the result is returned so that it is freed outside the timed region.
fn timed<T>(f: impl FnOnce() -> T) -> (Timing, T) {
    let cpu = process_cpu_time();
    let t = Instant::now();
    let v = f();
    let wall = t.elapsed();
    let cpu = process_cpu_time() - cpu;
    (Timing { wall, cpu }, v)
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Timing {
    let mut best = Timing::NONE;
    for _ in 0..runs {
        let (t, v) = timed(&mut f);
        best = best.best(t);
        drop(v);
    }
    best
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GB RAM", kb / 1e6))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores available, {mem}")
}

fn main() {
    // The allocator tuned as the `pgdiag` binary tunes it.
    pgdiag::alloc_tuning::keep_freed_memory();
    // As the binary does: `PGDIAG_THREADS` caps the threads (for the profile modes below; the
    // table measures (c) both ways anyway).
    if let Some(n) = std::env::var("PGDIAG_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pgdiag::threads::set_limit(n);
    }
    // `cargo bench` passes `--bench`; ignore arguments.
    let runs: usize = std::env::var("PGDIAG_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
        .max(1);
    let branches: usize = std::env::var("PGDIAG_BENCH_BRANCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5600);
    let seed = 0x5eed_u64;

    println!("pgdiag big_plan benchmark");
    println!("machine: {}", machine());
    println!(
        "profile: {}",
        if cfg!(debug_assertions) {
            "debug (numbers meaningless)"
        } else {
            "release"
        }
    );

    let t = Instant::now();
    let tree = plan_gen::big_plan(seed, branches);
    let nodes = tree.count();
    let json = plan_gen::to_json(&tree);
    if let Some(dir) = std::env::var_os("PGDIAG_BENCH_DUMP") {
        // Write both forms, to look at them or to feed them to `pgdiag` by hand.
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("big_plan.json"), &json).expect("write big_plan.json");
        std::fs::write(dir.join("big_plan.txt"), plan_gen::to_text(&tree))
            .expect("write big_plan.txt");
    }
    drop(tree);
    println!(
        "generated: {nodes} nodes, JSON {:.1} MB in {:.2?} (seed {seed:#x}, {branches} branches)",
        mb(json.len()),
        t.elapsed()
    );

    // `PGDIAG_BENCH_PROFILE=N`: only run (c) N times, for `perf record`; `text:N`: the text parse.
    if let Ok(p) = std::env::var("PGDIAG_BENCH_PROFILE") {
        // `clean:N` / `clean-full:N`: the psql cleaner only (quick path tried first / every pass).
        for (prefix, full) in [("clean:", false), ("clean-full:", true)] {
            if let Some(n) = p.strip_prefix(prefix).and_then(|s| s.parse::<usize>().ok()) {
                drop(json);
                let text = plan_gen::to_text(&plan_gen::big_plan(seed, branches));
                for _ in 0..n {
                    std::hint::black_box(if full {
                        pgdiag::plan::parse::psql::clean_full(&text)
                    } else {
                        pgdiag::plan::parse::psql::clean(&text)
                    });
                }
                return;
            }
        }
        if let Some(n) = p
            .strip_prefix("text:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            drop(json);
            let text = plan_gen::to_text(&plan_gen::big_plan(seed, branches));
            for _ in 0..n {
                std::hint::black_box(parse_source("big.txt", &text).expect("parses"));
            }
            return;
        }
        // `framed:N`: (f), the psql-framed text plan (`PGDIAG_BENCH_FRAMED_MB`, default 100 MiB).
        if let Some(n) = p
            .strip_prefix("framed:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            drop(json);
            let mib: usize = std::env::var("PGDIAG_BENCH_FRAMED_MB")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            let text = plan_gen::psql_text_plan(mib << 20);
            for _ in 0..n {
                std::hint::black_box(parse_source("framed.txt", &text).expect("parses"));
            }
            return;
        }
        // `validate:N` (a) and `parse:N` (b) alone, to compare instruction counts with (c).
        if let Some(n) = p
            .strip_prefix("validate:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            for _ in 0..n {
                std::hint::black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(json.as_bytes())
                        .expect("valid JSON"),
                );
            }
            return;
        }
        if let Some(n) = p
            .strip_prefix("parse:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            for _ in 0..n {
                std::hint::black_box(parse_source("big.json", &json).expect("parses"));
            }
            return;
        }
        // `chunks:T`: read the JSON plan (no derive) in one go and in T chunks, 5 times each,
        // saying how long each took and how many nodes the other threads read.
        if let Some(t) = p
            .strip_prefix("chunks:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            for _ in 0..5 {
                for threads in [1, t] {
                    let start = Instant::now();
                    let (plans, ahead) =
                        pgdiag::plan::parse::json::parse_plans_fast_on(&json, threads);
                    let took = start.elapsed();
                    let nodes = plans.as_ref().map_or(0, |p| p[0].nodes.len());
                    println!("{threads} thread(s): {took:.1?}, {nodes} nodes, {ahead} read ahead");
                    drop(plans);
                }
            }
            return;
        }
        // `check:N`: parse once, then only `check_plan`, N times (the rules' own profile).
        if let Some(n) = p
            .strip_prefix("check:")
            .and_then(|s| s.parse::<usize>().ok())
        {
            let plans = parse_source("big.json", &json).expect("parses");
            // Each run's wall-clock time, printed as best and median: the rules may use several
            // threads, so the thread's CPU time would not say what the user waits for.
            // `PGDIAG_THREADS=1`: the sequential path, for comparison.
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let findings = check_plan(&plans[0], &EngineSettings::default());
                times.push(t.elapsed());
                drop(std::hint::black_box(findings));
            }
            times.sort();
            if let (Some(best), Some(median)) = (times.first(), times.get(n / 2)) {
                println!("check_plan: best {best:.2?}, median {median:.2?} of {n} runs");
            }
            return;
        }
        let n: usize = p
            .parse()
            .expect("PGDIAG_BENCH_PROFILE=N, validate:N, parse:N, check:N, text:N, framed:N, clean:N or clean-full:N");
        for _ in 0..n {
            let plans = parse_source("big.json", &json).expect("parses");
            std::hint::black_box(check_plan(&plans[0], &EngineSettings::default()));
        }
        return;
    }

    // Sanity: the plan reads, with every node.
    let plans = parse_source("big.json", &json).expect("generated JSON plan must parse");
    assert_eq!(plans.len(), 1);
    assert_eq!(
        plans[0].nodes.len(),
        nodes,
        "every generated node is in the model"
    );
    let findings = check_plan(&plans[0], &EngineSettings::default()).len();
    drop(plans);

    // (a), (b) and (c) take turns, run after run, so that a busy moment on this shared machine
    // slows all three alike instead of one of them: their ratio is the figure that matters.
    let mut t_validate = Timing::NONE;
    let mut t_parse = Timing::NONE;
    let mut t_full = Timing::NONE;
    let mut t_full_one_thread = Timing::NONE;
    for _ in 0..runs {
        // (a) validation only
        let (t, v) = timed(|| {
            serde_json::from_slice::<serde::de::IgnoredAny>(json.as_bytes()).expect("valid JSON")
        });
        t_validate = t_validate.best(t);
        std::hint::black_box(v);
        // (b) parse + derive
        let (t, v) = timed(|| parse_source("big.json", &json).expect("parses"));
        t_parse = t_parse.best(t);
        drop(v);
        // (c) + rules
        let (t, v) = timed(|| {
            let plans = parse_source("big.json", &json).expect("parses");
            let f = check_plan(&plans[0], &EngineSettings::default());
            (plans, f)
        });
        t_full = t_full.best(t);
        drop(v);
        // (c) on one thread (`--threads 1`)
        pgdiag::threads::set_limit(1);
        let (t, v) = timed(|| {
            let plans = parse_source("big.json", &json).expect("parses");
            let f = check_plan(&plans[0], &EngineSettings::default());
            (plans, f)
        });
        pgdiag::threads::set_limit(0);
        t_full_one_thread = t_full_one_thread.best(t);
        drop(v);
    }
    // (e) peak memory of (c), above the input held (the only large block live before it)
    let baseline = json.capacity();
    start_counting();
    let kept = {
        let plans = parse_source("big.json", &json).expect("parses");
        let parse_allocations = ALLOCATIONS.load(Ordering::Relaxed);
        let f = check_plan(&plans[0], &EngineSettings::default());
        (plans, f, parse_allocations)
    };
    stop_counting();
    let parse_allocations = kept.2;
    let check_allocations = ALLOCATIONS.load(Ordering::Relaxed) - parse_allocations;
    let peak_above = peak();
    let peak_total = baseline + peak_above;
    let retained = current();
    drop(kept);
    let json_len = json.len();
    drop(json);

    // (d) text
    let tree = plan_gen::big_plan(seed, branches);
    let text = plan_gen::to_text(&tree);
    drop(tree);
    let text_result = match parse_source("big.txt", &text) {
        Err(e) if e.message.contains("not supported") => Err(format!("not available ({e})")),
        Err(e) => Err(format!("FAILED: {e}")),
        Ok(p) if p.len() != 1 || p[0].nodes.len() != nodes => Err(format!(
            "WRONG: {} plans, {} nodes (expected 1 plan, {nodes} nodes)",
            p.len(),
            p.first().map_or(0, |p| p.nodes.len())
        )),
        Ok(_) => Ok(best_of(runs, || {
            parse_source("big.txt", &text).expect("parses")
        })),
    };

    // (f) a bigger text plan with psql's frame around it
    let framed = plan_gen::psql_text_plan(100 << 20);
    let t_framed = best_of(runs, || {
        parse_source("framed.txt", &framed).expect("parses")
    });

    // The target is about time: wall-clock. The CPU-time ratios say how much work that took.
    let ratio = t_full.wall.as_secs_f64() / t_validate.wall.as_secs_f64();
    let ratio_cpu = t_full.cpu.as_secs_f64() / t_validate.cpu.as_secs_f64();
    let ratio_one_thread = t_full_one_thread.wall.as_secs_f64() / t_validate.wall.as_secs_f64();
    let mem_ratio = peak_above as f64 / json_len as f64;
    println!();
    println!(
        "best of {runs} runs ((a), (b), (c), (c1) in turn); {} threads (`pgdiag::threads`); MB/s from wall-clock time",
        pgdiag::threads::available()
    );
    println!("| measurement                                   | wall       | CPU        | throughput   | target        |");
    println!("|-----------------------------------------------|------------|------------|--------------|---------------|");
    let row = |name: &str, t: Timing, bytes: usize, target: &str| {
        println!(
            "| {name:<45} | {:>7.1} ms | {:>7.1} ms | {:>7.1} MB/s | {target:<13} |",
            t.wall.as_secs_f64() * 1e3,
            t.cpu.as_secs_f64() * 1e3,
            mb(bytes) / t.wall.as_secs_f64()
        );
    };
    row(
        "(a) serde_json IgnoredAny (validation only)",
        t_validate,
        json_len,
        "",
    );
    row(
        "(b) parse_source JSON (parse + derive)",
        t_parse,
        json_len,
        "",
    );
    row(
        "(c) (b) + check_plan (full analysis)",
        t_full,
        json_len,
        &format!("≤ 2× (a): {ratio:.2}×"),
    );
    row(
        "(c1) (c) on one thread (--threads 1)",
        t_full_one_thread,
        json_len,
        &format!("{ratio_one_thread:.2}× (a)"),
    );
    // The text target: ≥ 100 MB/s (the text reader uses one thread: wall ≈ CPU on a quiet machine).
    let text_row = |name: String, t: Timing, bytes: usize| {
        let met = mb(bytes) / t.wall.as_secs_f64() >= 100.0;
        let verdict = if met { "met" } else { "MISSED" };
        row(&name, t, bytes, &format!("≥ 100 MB/s: {verdict}"));
    };
    match &text_result {
        Ok(t) => text_row(
            format!("(d) parse_source text ({:.1} MB)", mb(text.len())),
            *t,
            text.len(),
        ),
        Err(msg) => println!("| (d) parse_source text ({:.1} MB): {msg}", mb(text.len())),
    }
    text_row(
        format!(
            "(f) parse_source psql-framed text ({:.0} MB)",
            mb(framed.len())
        ),
        t_framed,
        framed.len(),
    );
    println!();
    println!(
        "(e) memory: input held (baseline) {:.1} MB; peak during (c) {:.1} MB total, {:.1} MB above baseline = {mem_ratio:.2}× the file (target ≤ 3×: {}); model + findings retained after: {:.1} MB",
        mb(baseline),
        mb(peak_total),
        mb(peak_above),
        if mem_ratio <= 3.0 { "met" } else { "MISSED" },
        mb(retained)
    );
    println!(
        "analysis vs validation: {ratio:.2}× wall-clock (target ≤ 2×: {}); on one thread {ratio_one_thread:.2}×; in CPU time (all threads) {ratio_cpu:.2}×; findings on the big plan: {findings}",
        if ratio <= 2.0 { "met" } else { "MISSED" }
    );
    println!(
        "size_of::<Node>() = {} bytes, {} nodes; allocations: parse {parse_allocations} ({:.1} a node), check_plan {check_allocations} ({:.1} a finding)",
        std::mem::size_of::<pgdiag::plan::Node>(),
        nodes,
        parse_allocations as f64 / nodes as f64,
        check_allocations as f64 / findings.max(1) as f64,
    );
}
