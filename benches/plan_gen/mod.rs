//! Deterministic generator of huge, realistic EXPLAIN (ANALYZE, VERBOSE, BUFFERS, WAL) plans, in
//! PostgreSQL 18's JSON and text formats, for the `big_plan` benchmark and the parser fuzz tests.
//!
//! The shape is a reporting query over many partitions: a `Sort` over an `Append` whose members
//! (UNION ALL branches) are one of a few templates — parallel hash joins under aggregates, merge
//! joins over spilled sorts and lossy bitmap scans, nested loops with `Memoize`, nested `Append`s
//! over sub-partitions, `InitPlan`s and never-executed branches. Numbers are printed the way
//! `explain.c` prints them (costs `%.2f`, times `%.3f`, rows `%.2f` in PG 18), and the text form
//! follows the same indentation rules (`->  ` arrows, properties two columns right of the arrow).
#![allow(dead_code)]

use std::fmt::Write;

/// splitmix64: small, seeded, good enough to vary a plan.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (hi exclusive).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[derive(Clone, Default)]
pub struct Actual {
    pub startup: f64,
    pub total: f64,
    pub rows: f64,
    pub loops: f64,
}

/// Block counts: shared hit/read/dirtied/written, local (same), temp read/written.
#[derive(Clone, Copy, Default)]
pub struct Bufs(pub [u64; 10]);

/// I/O times: shared read/write, local read/write, temp read/write.
#[derive(Clone, Copy, Default)]
pub struct Io(pub [f64; 6]);

#[derive(Clone, Default)]
pub struct Wal {
    pub records: u64,
    pub fpi: u64,
    pub bytes: u64,
    pub buffers_full: u64,
}

#[derive(Clone, Default)]
pub struct GWorker {
    pub number: u32,
    pub actual: Actual,
    pub bufs: Bufs,
    pub io: Io,
}

/// One generated plan node.
#[derive(Clone, Default)]
pub struct GNode {
    /// JSON `Node Type`.
    pub node_type: &'static str,
    /// The text label's name part when it differs from the node type (`HashAggregate`).
    pub text_name: Option<&'static str>,
    pub strategy: Option<&'static str>,
    pub partial_mode: Option<&'static str>,
    pub join_type: Option<&'static str>,
    pub relationship: Option<&'static str>,
    pub subplan_name: Option<String>,
    pub parallel_aware: bool,
    pub scan_direction: Option<&'static str>,
    pub index_name: Option<String>,
    /// (relation, schema, alias)
    pub relation: Option<(String, &'static str, String)>,
    pub startup_cost: f64,
    pub total_cost: f64,
    pub plan_rows: f64,
    pub plan_width: u32,
    /// `None`: never executed.
    pub actual: Option<Actual>,
    pub output: Vec<String>,
    pub inner_unique: Option<bool>,
    /// Conditions in print order: (JSON key, expression).
    pub conds: Vec<(&'static str, String)>,
    pub sort_key: Vec<String>,
    pub group_key: Vec<String>,
    pub cache_key: Option<String>,
    /// (method, space kB, "Memory"/"Disk")
    pub sort: Option<(&'static str, u64, &'static str)>,
    /// (buckets, original buckets, batches, original batches, peak kB)
    pub hash: Option<(u64, u64, u64, u64, u64)>,
    /// HashAggregate: (planned partitions, batches, peak kB, disk kB)
    pub hashagg: Option<(u64, u64, u64, u64)>,
    /// Memoize: hits, misses, evictions, overflows, peak kB
    pub memoize: Option<(u64, u64, u64, u64, u64)>,
    /// Rows removed: (JSON key, count)
    pub removed: Vec<(&'static str, f64)>,
    pub heap_fetches: Option<u64>,
    pub index_searches: Option<u64>,
    pub heap_blocks: Option<(u64, u64)>,
    pub workers_planned: Option<u32>,
    pub workers_launched: Option<u32>,
    pub single_copy: Option<bool>,
    pub bufs: Bufs,
    pub io: Io,
    pub wal: Wal,
    pub workers: Vec<GWorker>,
    pub children: Vec<GNode>,
}

impl GNode {
    pub fn count(&self) -> usize {
        // Iterative: generated trees may be deep.
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            n += 1;
            stack.extend(x.children.iter());
        }
        n
    }
}

// ---------------------------------------------------------------------------------------------
// Building

struct Gen {
    rng: Rng,
    next_subplan: u32,
}

const COLS: &[&str] = &[
    "id",
    "customer_id",
    "region_id",
    "product_id",
    "amount",
    "qty",
    "created_at",
    "status",
    "note",
    "price",
    "discount",
    "channel",
    "payload",
    "updated_at",
    "sku",
];

impl Gen {
    fn cols(&mut self, alias: &str, n: usize) -> Vec<String> {
        let start = self.rng.range(0, COLS.len() as u64) as usize;
        (0..n)
            .map(|i| format!("{alias}.{}", COLS[(start + i) % COLS.len()]))
            .collect()
    }

    fn bufs(&mut self, scale: f64, temp: bool) -> Bufs {
        let mut b = [0u64; 10];
        let total = (scale * (50.0 + self.rng.unit() * 5000.0)) as u64;
        let read = if self.rng.chance(0.4) {
            self.rng.range(0, total / 3 + 1)
        } else {
            0
        };
        b[0] = total - read;
        b[1] = read;
        if self.rng.chance(0.05) {
            b[2] = self.rng.range(1, 40);
            b[3] = self.rng.range(0, b[2] + 1);
        }
        if temp {
            b[8] = self.rng.range(100, 5000);
            b[9] = b[8] + self.rng.range(0, 300);
        }
        Bufs(b)
    }

    fn io(&mut self, b: &Bufs) -> Io {
        let mut t = [0.0; 6];
        if b.0[1] > 0 {
            t[0] = b.0[1] as f64 * 0.011 * (0.5 + self.rng.unit());
        }
        if b.0[3] > 0 {
            t[1] = b.0[3] as f64 * 0.02;
        }
        if b.0[8] > 0 {
            t[4] = b.0[8] as f64 * 0.0015;
        }
        if b.0[9] > 0 {
            t[5] = b.0[9] as f64 * 0.0037;
        }
        Io(t)
    }

    fn actual(&mut self, total_ms: f64, rows: f64, loops: f64) -> Option<Actual> {
        Some(Actual {
            startup: total_ms * self.rng.unit() * 0.3,
            total: total_ms,
            rows,
            loops,
        })
    }

    /// A node with costs and actuals; the caller fills the rest.
    fn node(
        &mut self,
        node_type: &'static str,
        rel: Option<&'static str>,
        rows: f64,
        ms: f64,
        loops: f64,
    ) -> GNode {
        let plan_rows = (rows * (0.2 + self.rng.unit() * 3.0)).round().max(1.0);
        let total_cost = ms * 37.0 + 0.42 + self.rng.unit() * 100.0;
        GNode {
            node_type,
            relationship: rel,
            startup_cost: total_cost * self.rng.unit() * 0.5,
            total_cost,
            plan_rows,
            plan_width: self.rng.range(4, 120) as u32,
            actual: self.actual(ms, rows, loops),
            ..GNode::default()
        }
    }

    fn with_io(&mut self, mut n: GNode, scale: f64, temp: bool) -> GNode {
        n.bufs = self.bufs(scale, temp);
        n.io = self.io(&n.bufs);
        n
    }

    fn scan(&mut self, rel: &'static str, table: String, alias: &str, rows: f64, ms: f64) -> GNode {
        let mut n = self.node("Seq Scan", Some(rel), rows, ms, 1.0);
        n.relation = Some((table, "public", alias.to_string()));
        n.output = self.cols(alias, 4);
        n.conds.push((
            "Filter",
            format!(
                "(({alias}.created_at >= '2024-{:02}-01 00:00:00'::timestamp without time zone) AND ({alias}.status <> ALL ('{{cancelled,refunded}}'::text[])))",
                self.rng.range(1, 13)
            ),
        ));
        n.removed.push((
            "Rows Removed by Filter",
            (rows * self.rng.range(1, 50) as f64).round(),
        ));
        self.with_io(n, 1.0, false)
    }

    fn index_scan(
        &mut self,
        rel: &'static str,
        table: &str,
        alias: &str,
        loops: f64,
        only: bool,
    ) -> GNode {
        let ms = 0.002 + self.rng.unit() * 0.05;
        let mut n = self.node(
            if only {
                "Index Only Scan"
            } else {
                "Index Scan"
            },
            Some(rel),
            1.0,
            ms,
            loops,
        );
        n.scan_direction = Some("Forward");
        n.index_name = Some(format!("{table}_pkey"));
        n.relation = Some((table.to_string(), "public", alias.to_string()));
        n.output = self.cols(alias, 3);
        n.conds
            .push(("Index Cond", format!("({alias}.id = s.{table}_id)")));
        n.index_searches = Some(loops as u64);
        if only {
            n.heap_fetches = Some(self.rng.range(0, loops as u64 + 1));
        }
        self.with_io(n, loops.max(1.0) / 200.0 + 0.1, false)
    }

    /// Parallel hash join under a HashAggregate.
    fn branch_parallel(&mut self, i: usize, _rel: &'static str) -> GNode {
        let rows = self.rng.range(1000, 200_000) as f64;
        let workers = self.rng.range(1, 4) as u32;
        let launched = if self.rng.chance(0.1) { 0 } else { workers };
        let procs = launched as f64 + 1.0;
        let scan_ms = rows / 3000.0;
        let mut pscan = self.scan("Outer", format!("sales_p{i}"), "s", rows / procs, scan_ms);
        pscan.parallel_aware = true;
        if let Some(a) = &mut pscan.actual {
            a.loops = procs;
        }
        for w in 0..launched {
            let wb = self.bufs(0.3, false);
            let wio = self.io(&wb);
            pscan.workers.push(GWorker {
                number: w,
                actual: Actual {
                    startup: 0.2 + self.rng.unit(),
                    total: scan_ms * (0.8 + self.rng.unit() * 0.4),
                    rows: (rows / procs * (0.7 + self.rng.unit() * 0.6)).round(),
                    loops: 1.0,
                },
                bufs: wb,
                io: wio,
            });
        }
        let mut gather = self.node("Gather", Some("Outer"), rows, scan_ms * 1.1, 1.0);
        gather.output = pscan.output.clone();
        gather.workers_planned = Some(workers);
        gather.workers_launched = Some(launched);
        gather.single_copy = Some(false);
        gather.bufs = pscan.bufs;
        gather.io = pscan.io;
        gather.children.push(pscan);

        let crow = self.rng.range(100, 5000) as f64;
        let c_idx = self.index_scan("Outer", "customers", "c", 1.0, false);
        let r_idx = self.index_scan("Inner", "regions", "r", crow, true);
        let mut nl = self.node("Nested Loop", Some("Outer"), crow, crow / 900.0, 1.0);
        nl.join_type = Some("Inner");
        nl.inner_unique = Some(true);
        nl.output = self.cols("c", 3);
        nl.bufs = self.bufs(1.0, false);
        nl.children = vec![c_idx, r_idx];
        let spill = self.rng.chance(0.15);
        let mut hash = self.node("Hash", Some("Inner"), crow, crow / 800.0, 1.0);
        hash.output = nl.output.clone();
        let batches = if spill { 1 << self.rng.range(1, 6) } else { 1 };
        hash.hash = Some((1024, 1024, batches, 1, self.rng.range(20, 9000)));
        hash = self.with_io(hash, 0.5, spill);
        hash.children.push(nl);

        let mut hj = self.node("Hash Join", Some("Outer"), rows * 0.8, scan_ms * 1.4, 1.0);
        hj.join_type = Some(if self.rng.chance(0.3) {
            "Left"
        } else {
            "Inner"
        });
        hj.inner_unique = Some(false);
        hj.output = self.cols("s", 3);
        hj.conds
            .push(("Hash Cond", "(s.customer_id = c.id)".to_string()));
        hj = self.with_io(hj, 2.0, spill);
        hj.children = vec![gather, hash];

        let mut agg = self.node(
            "Aggregate",
            Some("Subquery"),
            rows / 40.0,
            scan_ms * 1.6,
            1.0,
        );
        agg.strategy = Some("Hashed");
        agg.partial_mode = Some("Simple");
        agg.text_name = Some("HashAggregate");
        agg.group_key = vec!["c.region_id".into(), "s.product_id".into()];
        agg.output = vec![
            "c.region_id".into(),
            "s.product_id".into(),
            "sum(s.amount)".into(),
            "count(*)".into(),
        ];
        let agg_spill = self.rng.chance(0.1);
        agg.hashagg = Some((
            if agg_spill { 8 } else { 0 },
            if agg_spill { self.rng.range(2, 40) } else { 1 },
            self.rng.range(24, 20000),
            if agg_spill {
                self.rng.range(1000, 90000)
            } else {
                0
            },
        ));
        agg = self.with_io(agg, 2.0, agg_spill);
        agg.children.push(hj);
        self.subquery(i, agg)
    }

    /// Merge join over a spilled sort and a lossy bitmap scan, under a GroupAggregate.
    fn branch_merge(&mut self, i: usize, rel: &'static str) -> GNode {
        let _ = rel;
        let rows = self.rng.range(500, 100_000) as f64;
        let seq = self.scan("Outer", format!("returns_p{i}"), "t", rows, rows / 2500.0);
        let mut sort1 = self.node("Sort", Some("Outer"), rows, rows / 1500.0, 1.0);
        sort1.output = seq.output.clone();
        sort1.sort_key = vec!["t.customer_id".into(), "t.created_at DESC".into()];
        let disk = self.rng.chance(0.3);
        sort1.sort = Some(if disk {
            ("external merge", self.rng.range(1000, 90000), "Disk")
        } else {
            ("quicksort", self.rng.range(25, 9000), "Memory")
        });
        sort1 = self.with_io(sort1, 1.0, disk);
        sort1.children.push(seq);

        let brows = self.rng.range(100, 50_000) as f64;
        let mut bidx = self.node(
            "Bitmap Index Scan",
            Some("Outer"),
            brows,
            brows / 50000.0,
            1.0,
        );
        bidx.index_name = Some(format!("payments_p{i}_created_idx"));
        bidx.conds.push((
            "Index Cond",
            "(p.created_at >= (now() - '30 days'::interval))".into(),
        ));
        bidx.index_searches = Some(1);
        bidx = self.with_io(bidx, 0.1, false);
        let mut bheap = self.node(
            "Bitmap Heap Scan",
            Some("Outer"),
            brows,
            brows / 3000.0,
            1.0,
        );
        bheap.relation = Some((format!("payments_p{i}"), "public", "p".into()));
        bheap.output = self.cols("p", 5);
        bheap.conds.push((
            "Recheck Cond",
            "(p.created_at >= (now() - '30 days'::interval))".into(),
        ));
        let lossy = self.rng.chance(0.3);
        if lossy {
            bheap.removed.push((
                "Rows Removed by Index Recheck",
                self.rng.range(1, 900000) as f64,
            ));
        }
        bheap.heap_blocks = Some((
            self.rng.range(10, 5000),
            if lossy { self.rng.range(1, 9000) } else { 0 },
        ));
        bheap = self.with_io(bheap, 1.0, false);
        bheap.children.push(bidx);
        let mut sort2 = self.node("Sort", Some("Outer"), brows, brows / 2000.0, 1.0);
        sort2.output = bheap.output.clone();
        sort2.sort_key = vec!["p.customer_id".into()];
        sort2.sort = Some(("quicksort", self.rng.range(25, 4000), "Memory"));
        sort2 = self.with_io(sort2, 1.0, false);
        sort2.children.push(bheap);
        let mut mat = self.node("Materialize", Some("Inner"), brows, brows / 1800.0, 1.0);
        mat.output = sort2.output.clone();
        mat.bufs = sort2.bufs;
        mat.children.push(sort2);

        let mut mj = self.node("Merge Join", Some("Outer"), rows, rows / 1000.0, 1.0);
        mj.join_type = Some("Inner");
        mj.inner_unique = Some(false);
        mj.output = self.cols("t", 3);
        mj.conds
            .push(("Merge Cond", "(t.customer_id = p.customer_id)".into()));
        mj.conds
            .push(("Join Filter", "(p.amount > t.amount)".into()));
        mj.removed.push((
            "Rows Removed by Join Filter",
            self.rng.range(0, 10000) as f64,
        ));
        mj = self.with_io(mj, 1.5, disk);
        mj.children = vec![sort1, mat];

        let mut agg = self.node(
            "Aggregate",
            Some("Subquery"),
            rows / 20.0,
            rows / 900.0,
            1.0,
        );
        agg.strategy = Some("Sorted");
        agg.partial_mode = Some("Simple");
        agg.text_name = Some("GroupAggregate");
        agg.group_key = vec!["t.customer_id".into()];
        agg.output = vec!["t.customer_id".into(), "sum(p.amount)".into()];
        agg = self.with_io(agg, 1.5, disk);
        agg.children.push(mj);
        self.subquery(i, agg)
    }

    /// Nested loop with Memoize over an Append of sub-partitions; sometimes never executed.
    fn branch_nested(&mut self, i: usize, rel: &'static str) -> GNode {
        let _ = rel;
        let parts = self.rng.range(2, 7);
        let mut app = self.node("Append", Some("Outer"), 0.0, 0.0, 1.0);
        let mut rows_sum = 0.0;
        let mut ms_sum = 0.0;
        for k in 0..parts {
            let rows = self.rng.range(10, 30_000) as f64;
            let ms = rows / 4000.0;
            let s = self.scan(
                "Member",
                format!("events_p{i}_{k}"),
                &format!("e_{k}"),
                rows,
                ms,
            );
            rows_sum += rows;
            ms_sum += ms;
            app.children.push(s);
        }
        app.plan_rows = rows_sum.round();
        app.actual = self.actual(ms_sum * 1.05, rows_sum, 1.0);
        app.output = self.cols("e", 3);
        app = self.with_io(app, parts as f64, false);

        let misses = self.rng.range(1, 500);
        let idx = self.index_scan("Outer", "devices", "d", misses as f64, false);
        let mut memo = self.node("Memoize", Some("Inner"), 1.0, 0.001, rows_sum);
        memo.cache_key = Some("e.device_id".into());
        memo.memoize = Some((
            (rows_sum as u64).saturating_sub(misses),
            misses,
            0,
            0,
            self.rng.range(1, 900),
        ));
        memo.output = idx.output.clone();
        memo.bufs = idx.bufs;
        memo.children.push(idx);

        let mut nl = self.node("Nested Loop", Some("Subquery"), rows_sum, ms_sum * 1.3, 1.0);
        nl.join_type = Some("Left");
        nl.inner_unique = Some(true);
        nl.output = self.cols("e", 4);
        nl = self.with_io(nl, parts as f64 + 1.0, false);
        nl.children = vec![app, memo];

        // An InitPlan on some branches.
        if self.rng.chance(0.3) {
            self.next_subplan += 1;
            let mut init = self.node("Result", Some("InitPlan"), 1.0, 0.002, 1.0);
            init.subplan_name = Some(format!("InitPlan {}", self.next_subplan));
            init.output = vec!["now()".into()];
            nl.children.insert(0, init);
        }
        let mut sq = self.subquery(i, nl);
        // Branches pruned at run time: the whole subtree never ran.
        if self.rng.chance(0.05) {
            let mut stack = vec![&mut sq];
            while let Some(n) = stack.pop() {
                n.actual = None;
                n.bufs = Bufs::default();
                n.io = Io::default();
                n.workers.clear();
                stack.extend(n.children.iter_mut());
            }
        }
        sq
    }

    fn subquery(&mut self, i: usize, child: GNode) -> GNode {
        let a = child.actual.clone();
        let mut sq = GNode {
            node_type: "Subquery Scan",
            relationship: Some("Member"),
            startup_cost: child.startup_cost,
            total_cost: child.total_cost + 1.0,
            plan_rows: child.plan_rows,
            plan_width: child.plan_width,
            actual: a.map(|a| Actual {
                total: a.total * 1.01,
                ..a
            }),
            output: child.output.clone(),
            bufs: child.bufs,
            io: child.io,
            ..GNode::default()
        };
        sq.relation = None;
        sq.subplan_name = None;
        sq.index_name = None;
        // "Subquery Scan on "*SELECT* 12"" — the alias carries the quotes.
        sq.relation = Some((String::new(), "", format!("\"*SELECT* {}\"", i + 1)));
        sq.children.push(child);
        sq
    }
}

/// A plan of about `branches × 11` nodes; `seed` makes it reproducible.
pub fn big_plan(seed: u64, branches: usize) -> GNode {
    let mut g = Gen {
        rng: Rng::new(seed),
        next_subplan: 0,
    };
    let mut app = GNode {
        node_type: "Append",
        relationship: Some("Outer"),
        ..GNode::default()
    };
    let (mut rows, mut ms, mut cost) = (0.0, 0.0, 0.0);
    let mut bufs = Bufs::default();
    for i in 0..branches {
        let b = match g.rng.range(0, 3) {
            0 => g.branch_parallel(i, "Member"),
            1 => g.branch_merge(i, "Member"),
            _ => g.branch_nested(i, "Member"),
        };
        if let Some(a) = &b.actual {
            rows += a.rows;
            ms += a.total;
        }
        cost += b.total_cost;
        for k in 0..10 {
            bufs.0[k] += b.bufs.0[k];
        }
        app.children.push(b);
    }
    app.total_cost = cost;
    app.plan_rows = rows;
    app.plan_width = 48;
    app.actual = Some(Actual {
        startup: 0.01,
        total: ms * 1.02,
        rows,
        loops: 1.0,
    });
    app.output = vec![
        "\"*SELECT* 1\".region_id".into(),
        "\"*SELECT* 1\".total".into(),
    ];
    app.bufs = bufs;
    let mut sort = GNode {
        node_type: "Sort",
        startup_cost: cost * 1.1,
        total_cost: cost * 1.1 + 500.0,
        plan_rows: rows,
        plan_width: 48,
        actual: Some(Actual {
            startup: ms * 1.1,
            total: ms * 1.12,
            rows,
            loops: 1.0,
        }),
        output: app.output.clone(),
        sort_key: vec!["\"*SELECT* 1\".total DESC".into()],
        sort: Some(("external merge", 123_456, "Disk")),
        bufs: Bufs({
            let mut b = bufs.0;
            b[8] += 15432;
            b[9] += 15432;
            b
        }),
        ..GNode::default()
    };
    sort.io = Io([0.0, 0.0, 0.0, 0.0, 23.1, 57.9]);
    sort.children.push(app);
    finish(&mut sort);
    sort
}

/// Make the figures consistent the way PostgreSQL's are: buffers cumulative up the tree (a node's
/// count includes its children's), whole rows when a node ran once. Recursive: only for the
/// shallow trees `big_plan` builds.
fn finish(n: &mut GNode) {
    for c in &mut n.children {
        finish(c);
    }
    if let Some(a) = &mut n.actual {
        if a.loops <= 1.0 {
            a.rows = a.rows.round();
        }
    }
    if n.actual.is_none() {
        return;
    }
    let mut sum = [0u64; 10];
    for c in &n.children {
        for (k, s) in sum.iter_mut().enumerate() {
            *s += c.bufs.0[k];
        }
    }
    for (k, s) in sum.iter().enumerate() {
        n.bufs.0[k] = n.bufs.0[k].max(*s);
    }
}

/// A chain of `depth` nested nodes (Limit → Limit → … → Seq Scan), for stack-depth tests.
pub fn deep_chain(depth: usize) -> GNode {
    let mut n = GNode {
        node_type: "Seq Scan",
        relationship: Some("Outer"),
        relation: Some(("t".into(), "public", "t".into())),
        total_cost: 10.0,
        plan_rows: 1.0,
        plan_width: 4,
        actual: Some(Actual {
            startup: 0.01,
            total: 0.02,
            rows: 1.0,
            loops: 1.0,
        }),
        ..GNode::default()
    };
    for d in 1..depth {
        n = GNode {
            node_type: "Limit",
            relationship: if d + 1 == depth { None } else { Some("Outer") },
            total_cost: 10.0 + d as f64,
            plan_rows: 1.0,
            plan_width: 4,
            actual: Some(Actual {
                startup: 0.01,
                total: 0.02 + d as f64 * 0.001,
                rows: 1.0,
                loops: 1.0,
            }),
            children: vec![n],
            ..GNode::default()
        };
    }
    n
}

// ---------------------------------------------------------------------------------------------
// JSON (PostgreSQL's explain.c layout: two spaces per group level)

fn jstr(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct JObj<'a> {
    out: &'a mut String,
    indent: usize,
    first: bool,
}

thread_local! {
    /// `to_json_compact` turns indentation off (deep plans would otherwise be quadratic in size).
    static COMPACT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn spaces(out: &mut String, n: usize) {
    if COMPACT.with(|c| c.get()) {
        return;
    }
    for _ in 0..n {
        out.push(' ');
    }
}

impl JObj<'_> {
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('\n');
        spaces(self.out, self.indent);
        jstr(self.out, k);
        self.out.push_str(": ");
    }
    fn s(&mut self, k: &str, v: &str) {
        self.key(k);
        jstr(self.out, v);
    }
    fn raw(&mut self, k: &str, v: std::fmt::Arguments) {
        self.key(k);
        let _ = self.out.write_fmt(v);
    }
    fn b(&mut self, k: &str, v: bool) {
        self.raw(k, format_args!("{v}"));
    }
    fn list(&mut self, k: &str, v: &[String]) {
        self.key(k);
        self.out.push('[');
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            jstr(self.out, x);
        }
        self.out.push(']');
    }
}

fn json_actual(o: &mut JObj, a: &Option<Actual>) {
    let a = a.clone().unwrap_or_default();
    o.raw("Actual Startup Time", format_args!("{:.3}", a.startup));
    o.raw("Actual Total Time", format_args!("{:.3}", a.total));
    o.raw("Actual Rows", format_args!("{:.2}", a.rows));
    o.raw("Actual Loops", format_args!("{:.0}", a.loops));
}

fn json_io(o: &mut JObj, b: &Bufs, io: &Io, wal: Option<&Wal>) {
    const BK: [&str; 10] = [
        "Shared Hit Blocks",
        "Shared Read Blocks",
        "Shared Dirtied Blocks",
        "Shared Written Blocks",
        "Local Hit Blocks",
        "Local Read Blocks",
        "Local Dirtied Blocks",
        "Local Written Blocks",
        "Temp Read Blocks",
        "Temp Written Blocks",
    ];
    const IK: [&str; 6] = [
        "Shared I/O Read Time",
        "Shared I/O Write Time",
        "Local I/O Read Time",
        "Local I/O Write Time",
        "Temp I/O Read Time",
        "Temp I/O Write Time",
    ];
    for (k, v) in BK.iter().zip(b.0) {
        o.raw(k, format_args!("{v}"));
    }
    for (k, v) in IK.iter().zip(io.0) {
        o.raw(k, format_args!("{v:.3}"));
    }
    let w = wal.cloned().unwrap_or_default();
    o.raw("WAL Records", format_args!("{}", w.records));
    o.raw("WAL FPI", format_args!("{}", w.fpi));
    o.raw("WAL Bytes", format_args!("{}", w.bytes));
    o.raw("WAL Buffers Full", format_args!("{}", w.buffers_full));
}

fn json_node_fields(o: &mut JObj, n: &GNode) {
    o.s("Node Type", n.node_type);
    if let Some(s) = n.strategy {
        o.s("Strategy", s);
    }
    if let Some(s) = n.partial_mode {
        o.s("Partial Mode", s);
    }
    if let Some(r) = n.relationship {
        o.s("Parent Relationship", r);
    }
    if let Some(s) = &n.subplan_name {
        o.s("Subplan Name", s);
    }
    o.b("Parallel Aware", n.parallel_aware);
    o.b("Async Capable", false);
    if let Some(j) = n.join_type {
        o.s("Join Type", j);
    }
    if let Some(d) = n.scan_direction {
        o.s("Scan Direction", d);
    }
    if let Some(i) = &n.index_name {
        o.s("Index Name", i);
    }
    if let Some((rel, schema, alias)) = &n.relation {
        if !rel.is_empty() {
            o.s("Relation Name", rel);
            o.s("Schema", schema);
        }
        o.s("Alias", alias);
    }
    o.raw("Startup Cost", format_args!("{:.2}", n.startup_cost));
    o.raw("Total Cost", format_args!("{:.2}", n.total_cost));
    o.raw("Plan Rows", format_args!("{:.0}", n.plan_rows));
    o.raw("Plan Width", format_args!("{}", n.plan_width));
    json_actual(o, &n.actual);
    o.b("Disabled", false);
    if !n.output.is_empty() {
        o.list("Output", &n.output);
    }
    if let Some(u) = n.inner_unique {
        o.b("Inner Unique", u);
    }
    if !n.sort_key.is_empty() {
        o.list("Sort Key", &n.sort_key);
    }
    if !n.group_key.is_empty() {
        o.list("Group Key", &n.group_key);
    }
    if let Some(k) = &n.cache_key {
        o.s("Cache Key", k);
        o.s("Cache Mode", "logical");
    }
    for (k, v) in &n.conds {
        o.s(k, v);
        if *k == "Index Cond" {
            if let Some(i) = n.index_searches {
                o.raw("Index Searches", format_args!("{i}"));
            }
        }
    }
    for (k, v) in &n.removed {
        o.raw(k, format_args!("{v:.0}"));
    }
    if let Some(h) = n.heap_fetches {
        o.raw("Heap Fetches", format_args!("{h}"));
    }
    if let Some((e, l)) = n.heap_blocks {
        o.raw("Exact Heap Blocks", format_args!("{e}"));
        o.raw("Lossy Heap Blocks", format_args!("{l}"));
    }
    if n.actual.is_some() {
        if let Some((m, kb, ty)) = n.sort {
            o.s("Sort Method", m);
            o.raw("Sort Space Used", format_args!("{kb}"));
            o.s("Sort Space Type", ty);
        }
        if let Some((b, ob, ba, oba, kb)) = n.hash {
            o.raw("Hash Buckets", format_args!("{b}"));
            o.raw("Original Hash Buckets", format_args!("{ob}"));
            o.raw("Hash Batches", format_args!("{ba}"));
            o.raw("Original Hash Batches", format_args!("{oba}"));
            o.raw("Peak Memory Usage", format_args!("{kb}"));
        }
        if let Some((pp, ba, kb, disk)) = n.hashagg {
            o.raw("Planned Partitions", format_args!("{pp}"));
            o.raw("HashAgg Batches", format_args!("{ba}"));
            o.raw("Peak Memory Usage", format_args!("{kb}"));
            o.raw("Disk Usage", format_args!("{disk}"));
        }
        if let Some((h, m, e, ov, kb)) = n.memoize {
            o.raw("Cache Hits", format_args!("{h}"));
            o.raw("Cache Misses", format_args!("{m}"));
            o.raw("Cache Evictions", format_args!("{e}"));
            o.raw("Cache Overflows", format_args!("{ov}"));
            o.raw("Peak Memory Usage", format_args!("{kb}"));
        }
    }
    if let Some(w) = n.workers_planned {
        o.raw("Workers Planned", format_args!("{w}"));
    }
    if let Some(w) = n.workers_launched {
        o.raw("Workers Launched", format_args!("{w}"));
    }
    if let Some(s) = n.single_copy {
        o.b("Single Copy", s);
    }
    json_io(o, &n.bufs, &n.io, Some(&n.wal));
}

/// Append a node whose keys sit at `indent`, iteratively (generated plans may be deep).
fn json_node(out: &mut String, root: &GNode, indent: usize) {
    enum Ev<'a> {
        Node(&'a GNode, usize),
        /// newline + spaces, with a leading comma when `comma`
        Break(bool, usize),
        /// newline + spaces + closing char
        End(usize, char),
    }
    let mut stack = vec![Ev::Node(root, indent)];
    while let Some(ev) = stack.pop() {
        match ev {
            Ev::Break(comma, ind) => {
                if comma {
                    out.push(',');
                }
                out.push('\n');
                spaces(out, ind);
            }
            Ev::End(ind, c) => {
                out.push('\n');
                spaces(out, ind);
                out.push(c);
            }
            Ev::Node(n, ind) => {
                out.push('{');
                let mut o = JObj {
                    out: &mut *out,
                    indent: ind,
                    first: true,
                };
                json_node_fields(&mut o, n);
                if !n.workers.is_empty() && n.actual.is_some() {
                    o.key("Workers");
                    o.out.push('[');
                    for (wi, w) in n.workers.iter().enumerate() {
                        if wi > 0 {
                            o.out.push(',');
                        }
                        o.out.push('\n');
                        spaces(o.out, ind + 2);
                        o.out.push('{');
                        let mut wo = JObj {
                            out: &mut *o.out,
                            indent: ind + 4,
                            first: true,
                        };
                        wo.raw("Worker Number", format_args!("{}", w.number));
                        json_actual(&mut wo, &Some(w.actual.clone()));
                        json_io(&mut wo, &w.bufs, &w.io, None);
                        o.out.push('\n');
                        spaces(o.out, ind + 2);
                        o.out.push('}');
                    }
                    o.out.push('\n');
                    spaces(o.out, ind);
                    o.out.push(']');
                }
                stack.push(Ev::End(ind - 2, '}'));
                if !n.children.is_empty() {
                    o.key("Plans");
                    o.out.push('[');
                    stack.push(Ev::End(ind, ']'));
                    for (ci, c) in n.children.iter().enumerate().rev() {
                        stack.push(Ev::Node(c, ind + 4));
                        stack.push(Ev::Break(ci > 0, ind + 2));
                    }
                }
            }
        }
    }
}

/// `to_json` without indentation: PostgreSQL's layout, one key per line, but no leading spaces.
pub fn to_json_compact(root: &GNode) -> String {
    COMPACT.with(|c| c.set(true));
    let s = to_json(root);
    COMPACT.with(|c| c.set(false));
    s
}

/// The whole `EXPLAIN (FORMAT JSON)` output for one statement.
pub fn to_json(root: &GNode) -> String {
    let mut out = String::with_capacity(root.count() * 2200);
    out.push_str("[\n  {\n    \"Plan\": ");
    json_node(&mut out, root, 6);
    out.push_str(",\n    \"Settings\": {\n      \"work_mem\": \"64MB\",\n      \"max_parallel_workers_per_gather\": \"4\"\n    },");
    out.push_str("\n    \"Query Identifier\": -5418873240958215102,");
    out.push_str("\n    \"Planning\": {\n      \"Shared Hit Blocks\": 4123,\n      \"Shared Read Blocks\": 12,\n      \"Shared Dirtied Blocks\": 0,\n      \"Shared Written Blocks\": 0,\n      \"Local Hit Blocks\": 0,\n      \"Local Read Blocks\": 0,\n      \"Local Dirtied Blocks\": 0,\n      \"Local Written Blocks\": 0,\n      \"Temp Read Blocks\": 0,\n      \"Temp Written Blocks\": 0,\n      \"Memory Used\": 91234,\n      \"Memory Allocated\": 131072\n    },");
    let exec = root.actual.as_ref().map(|a| a.total * 1.01).unwrap_or(0.0);
    let _ = write!(
        out,
        "\n    \"Planning Time\": 812.345,\n    \"Triggers\": [\n    ],\n    \"Execution Time\": {exec:.3}\n  }}\n]"
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Text (explain.c's text layout: `->  ` arrows; properties two columns right of the arrow)

fn text_label(n: &GNode, out: &mut String) {
    if n.parallel_aware {
        out.push_str("Parallel ");
    }
    if let Some(p) = n.partial_mode {
        if p != "Simple" {
            out.push_str(p);
            out.push(' ');
        }
    }
    out.push_str(n.text_name.unwrap_or(n.node_type));
    if let Some(j) = n.join_type {
        if j != "Inner" {
            if n.node_type == "Nested Loop" {
                let _ = write!(out, " {j} Join");
            } else {
                // "Hash Join" + Left → "Hash Left Join"
                out.truncate(out.len() - " Join".len());
                let _ = write!(out, " {j} Join");
            }
        }
    }
    if n.scan_direction == Some("Backward") {
        out.push_str(" Backward");
    }
    if let Some(i) = &n.index_name {
        if n.node_type == "Bitmap Index Scan" {
            let _ = write!(out, " on {i}");
        } else {
            let _ = write!(out, " using {i}");
        }
    }
    if let Some((rel, schema, alias)) = &n.relation {
        if rel.is_empty() {
            let _ = write!(out, " on {alias}");
        } else {
            let _ = write!(out, " on {schema}.{rel}");
            if alias != rel {
                let _ = write!(out, " {alias}");
            }
        }
    }
}

fn text_actual(out: &mut String, a: &Actual) {
    let _ = write!(
        out,
        "actual time={:.3}..{:.3} rows={:.2} loops={:.0}",
        a.startup, a.total, a.rows, a.loops
    );
}

fn text_bufs(out: &mut String, pad: usize, b: &Bufs, io: &Io) {
    let b = &b.0;
    if b.iter().any(|&x| x > 0) {
        push_pad(out, pad);
        out.push_str("Buffers:");
        let mut groups = 0;
        for (gi, (name, keys)) in [
            (
                "shared",
                &[(0, "hit"), (1, "read"), (2, "dirtied"), (3, "written")][..],
            ),
            (
                "local",
                &[(4, "hit"), (5, "read"), (6, "dirtied"), (7, "written")][..],
            ),
            ("temp", &[(8, "read"), (9, "written")][..]),
        ]
        .iter()
        .enumerate()
        {
            let _ = gi;
            if keys.iter().all(|(i, _)| b[*i] == 0) {
                continue;
            }
            if groups > 0 {
                out.push(',');
            }
            groups += 1;
            let _ = write!(out, " {name}");
            for (i, k) in keys.iter() {
                if b[*i] > 0 {
                    let _ = write!(out, " {k}={}", b[*i]);
                }
            }
        }
        out.push('\n');
    }
    let t = &io.0;
    if t.iter().any(|&x| x > 0.0) {
        push_pad(out, pad);
        out.push_str("I/O Timings:");
        let mut groups = 0;
        for (name, keys) in [
            ("shared", [(0, "read"), (1, "write")]),
            ("local", [(2, "read"), (3, "write")]),
            ("temp", [(4, "read"), (5, "write")]),
        ] {
            if keys.iter().all(|(i, _)| t[*i] <= 0.0) {
                continue;
            }
            if groups > 0 {
                out.push(',');
            }
            groups += 1;
            let _ = write!(out, " {name}");
            for (i, k) in keys {
                if t[i] > 0.0 {
                    let _ = write!(out, " {k}={:.3}", t[i]);
                }
            }
        }
        out.push('\n');
    }
}

fn push_pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn text_line(out: &mut String, pad: usize, s: std::fmt::Arguments) {
    push_pad(out, pad);
    let _ = out.write_fmt(s);
    out.push('\n');
}

fn text_props(out: &mut String, n: &GNode, pad: usize) {
    if !n.output.is_empty() {
        text_line(out, pad, format_args!("Output: {}", n.output.join(", ")));
    }
    if let Some(true) = n.inner_unique {
        text_line(out, pad, format_args!("Inner Unique: true"));
    }
    if !n.sort_key.is_empty() {
        text_line(
            out,
            pad,
            format_args!("Sort Key: {}", n.sort_key.join(", ")),
        );
    }
    if !n.group_key.is_empty() {
        text_line(
            out,
            pad,
            format_args!("Group Key: {}", n.group_key.join(", ")),
        );
    }
    if let Some(k) = &n.cache_key {
        text_line(out, pad, format_args!("Cache Key: {k}"));
        text_line(out, pad, format_args!("Cache Mode: logical"));
    }
    // Conditions and their removal counts in explain.c's order.
    let removed = |key: &str| n.removed.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    for (k, v) in &n.conds {
        text_line(out, pad, format_args!("{k}: {v}"));
        let follow = match *k {
            "Filter" => Some("Rows Removed by Filter"),
            "Join Filter" => Some("Rows Removed by Join Filter"),
            "Recheck Cond" => Some("Rows Removed by Index Recheck"),
            _ => None,
        };
        if let (Some(f), true) = (follow, n.actual.is_some()) {
            if let Some(r) = removed(f) {
                text_line(out, pad, format_args!("{f}: {r:.0}"));
            }
        }
    }
    if n.actual.is_some() {
        if let Some(h) = n.heap_fetches {
            text_line(out, pad, format_args!("Heap Fetches: {h}"));
        }
        if let Some(i) = n.index_searches {
            text_line(out, pad, format_args!("Index Searches: {i}"));
        }
        if let Some((e, l)) = n.heap_blocks {
            if l > 0 {
                text_line(out, pad, format_args!("Heap Blocks: exact={e} lossy={l}"));
            } else {
                text_line(out, pad, format_args!("Heap Blocks: exact={e}"));
            }
        }
        if let Some((m, kb, ty)) = n.sort {
            text_line(out, pad, format_args!("Sort Method: {m}  {ty}: {kb}kB"));
        }
        if let Some((b, ob, ba, oba, kb)) = n.hash {
            if b != ob || ba != oba {
                text_line(
                    out,
                    pad,
                    format_args!(
                        "Buckets: {b} (originally {ob})  Batches: {ba} (originally {oba})  Memory Usage: {kb}kB"
                    ),
                );
            } else {
                text_line(
                    out,
                    pad,
                    format_args!("Buckets: {b}  Batches: {ba}  Memory Usage: {kb}kB"),
                );
            }
        }
        if let Some((pp, ba, kb, disk)) = n.hashagg {
            push_pad(out, pad);
            if pp > 0 {
                let _ = write!(out, "Planned Partitions: {pp}  ");
            }
            let _ = write!(out, "Batches: {ba}  Memory Usage: {kb}kB");
            if disk > 0 {
                let _ = write!(out, "  Disk Usage: {disk}kB");
            }
            out.push('\n');
        }
        if let Some((h, m, e, ov, kb)) = n.memoize {
            text_line(
                out,
                pad,
                format_args!(
                    "Hits: {h}  Misses: {m}  Evictions: {e}  Overflows: {ov}  Memory Usage: {kb}kB"
                ),
            );
        }
    }
    if let Some(w) = n.workers_planned {
        text_line(out, pad, format_args!("Workers Planned: {w}"));
    }
    if let (Some(w), true) = (n.workers_launched, n.actual.is_some()) {
        text_line(out, pad, format_args!("Workers Launched: {w}"));
    }
    text_bufs(out, pad, &n.bufs, &n.io);
    if n.actual.is_some() {
        for w in &n.workers {
            push_pad(out, pad);
            let _ = write!(out, "Worker {}:  ", w.number);
            text_actual(out, &w.actual);
            out.push('\n');
            text_bufs(out, pad + 2, &w.bufs, &w.io);
        }
    }
}

/// Append one node and its subtree; `indent` is explain.c's `es->indent` (0 for the root).
fn text_node(out: &mut String, root: &GNode, indent: usize) {
    let mut stack = vec![(root, indent)];
    while let Some((n, mut ind)) = stack.pop() {
        if let Some(name) = &n.subplan_name {
            text_line(out, ind * 2, format_args!("{name}"));
            ind += 1;
        }
        if ind > 0 {
            push_pad(out, ind * 2);
            out.push_str("->  ");
            ind += 2;
        }
        text_label(n, out);
        let _ = write!(
            out,
            "  (cost={:.2}..{:.2} rows={:.0} width={})",
            n.startup_cost, n.total_cost, n.plan_rows, n.plan_width
        );
        match &n.actual {
            Some(a) => {
                out.push_str(" (");
                text_actual(out, a);
                out.push_str(")\n");
            }
            None => out.push_str(" (never executed)\n"),
        }
        ind += 1;
        text_props(out, n, ind * 2);
        for c in n.children.iter().rev() {
            stack.push((c, ind));
        }
    }
}

/// The whole `EXPLAIN (ANALYZE, VERBOSE, BUFFERS, WAL, SETTINGS)` text output for one statement.
pub fn to_text(root: &GNode) -> String {
    let mut out = String::with_capacity(root.count() * 700);
    text_node(&mut out, root, 0);
    out.push_str("Settings: work_mem = '64MB', max_parallel_workers_per_gather = '4'\n");
    out.push_str("Query Identifier: -5418873240958215102\n");
    out.push_str("Planning:\n  Buffers: shared hit=4123 read=12\n  Memory: used=91234kB  allocated=131072kB\n");
    out.push_str("Planning Time: 812.345 ms\n");
    let exec = root.actual.as_ref().map(|a| a.total * 1.01).unwrap_or(0.0);
    let _ = writeln!(out, "Execution Time: {exec:.3} ms");
    out
}

/// Drop a tree without recursing once per level (for `deep_chain` trees).
pub fn drop_deep(root: GNode) {
    let mut stack = vec![root];
    while let Some(mut n) = stack.pop() {
        stack.append(&mut n.children);
    }
}

/// A large text plan as psql prints it (`QUERY PLAN` header, dashes, `(N rows)` footer): an
/// Append over many joins and scans with the usual detail lines, `target_bytes` long.
pub fn psql_text_plan(target_bytes: usize) -> String {
    let mut s = String::with_capacity(target_bytes + 4096);
    s.push_str("                QUERY PLAN\n------------------------------\n");
    s.push_str(" Append  (cost=0.00..123456.78 rows=1000000 width=40) (actual time=0.010..9999.000 rows=1000000 loops=1)\n");
    s.push_str("   Buffers: shared hit=123 read=456\n");
    let mut i = 0;
    while s.len() < target_bytes {
        s.push_str(&format!(
            "   ->  Hash Join  (cost=1.00..2.00 rows={i} width=8) (actual time=0.100..0.200 rows={i} loops=1)\n         Hash Cond: (a{i}.id = b{i}.id)\n         Buffers: shared hit={i} read=2, temp read=3 written=4\n         ->  Seq Scan on public.table_{i} a{i}  (cost=0.00..1.00 rows=10 width=4) (actual time=0.010..0.020 rows=10 loops=1)\n               Output: a{i}.id, a{i}.x, (a{i}.y + 1)\n               Filter: ((x > 1) AND (y < 2))\n               Rows Removed by Filter: 42\n         ->  Hash  (cost=1.00..1.00 rows=10 width=4) (actual time=0.010..0.010 rows=10 loops=1)\n               Buckets: 1024  Batches: 1  Memory Usage: 9kB\n               ->  Index Scan using idx_{i} on table_b{i} b{i}  (cost=0.29..8.31 rows=1 width=4) (actual time=0.005..0.006 rows=1 loops=10)\n                     Index Cond: (id = {i})\n"
        ));
        i += 1;
    }
    s.push_str(" Planning Time: 1.000 ms\n Execution Time: 9999.000 ms\n(123 rows)\n");
    s
}
