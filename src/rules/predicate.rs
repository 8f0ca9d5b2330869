//! A small reader for the condition text PostgreSQL prints (`Filter`, `Index Cond`, `Recheck
//! Cond`, `Join Filter`), just enough to say which index would serve it.
//!
//! PostgreSQL deparses every operator expression inside its own parentheses:
//! `((status = 'shipped'::text) AND (created_at > '2024-01-01'::date))`, `(a = ANY ('{1,2}'::integer[]))`,
//! `(lower(email) = 'x'::text)`, `(c ~~ 'v1%'::text)`, `(x IS NULL)`. So a condition is a tree of
//! `AND`/`OR` over parenthesised `operand OP operand` terms, which is what this module reads. It
//! never fails: whatever it cannot read becomes a [`Cond::Residual`] carrying the columns it could
//! find, so callers can still name columns and never print garbage.
//!
//! Column references are classified against the scanned relation's own names (its alias and
//! relation name): `o.status` with `o` the scan's alias is the scan's column `status`; `t.id` with
//! another qualifier is an *outer* value (a parameter from the other side of a nested loop), which
//! counts as a constant for an index on this relation. Unqualified names (a plan over one relation
//! prints them so) belong to the scan.

/// One column (or expression) of an index to suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    /// As it goes into `CREATE INDEX … (here)`: `status`, `(lower(email))`, `c text_pattern_ops`.
    pub text: String,
    /// The plain column, when the key is one (for de-duplication and INCLUDE lists).
    pub column: Option<String>,
}

impl IndexKey {
    pub fn same_target(&self, other: &IndexKey) -> bool {
        match (&self.column, &other.column) {
            (Some(a), Some(b)) => a == b,
            _ => self.text == other.text,
        }
    }
}

/// One conjunct of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `key = const`, `key = ANY (const)`, `key IS NULL`, a bare boolean column.
    Eq(IndexKey),
    /// `key < const`, `<=`, `>`, `>=`, and a prefix `LIKE 'abc%'`.
    Range(IndexKey),
    /// An `OR` of branches, each an AND-list of conditions.
    Or(Vec<Vec<Cond>>),
    /// Anything a btree cannot use as written (`<>`, `LIKE '%x'`, a comparison of two columns, an
    /// unreadable term): the scan's own columns it mentions and the term itself.
    Residual { columns: Vec<String>, text: String },
}

/// A condition read into its conjuncts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub conds: Vec<Cond>,
}

impl Analysis {
    pub fn equality(&self) -> Vec<IndexKey> {
        self.conds
            .iter()
            .filter_map(|c| match c {
                Cond::Eq(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }
    pub fn range(&self) -> Vec<IndexKey> {
        self.conds
            .iter()
            .filter_map(|c| match c {
                Cond::Range(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }
    /// The OR groups among the conjuncts.
    pub fn ors(&self) -> Vec<&Vec<Vec<Cond>>> {
        self.conds
            .iter()
            .filter_map(|c| match c {
                Cond::Or(b) => Some(b),
                _ => None,
            })
            .collect()
    }
    pub fn residuals(&self) -> Vec<(&[String], &str)> {
        self.conds
            .iter()
            .filter_map(|c| match c {
                Cond::Residual { columns, text } => Some((columns.as_slice(), text.as_str())),
                _ => None,
            })
            .collect()
    }
    /// Every column of the scan's own the condition mentions, in order of appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_columns(&self.conds, &mut out);
        out
    }
}

/// The columns of an OR group (`Cond::Or`'s branches), as `Analysis::columns` lists them.
pub fn or_columns(branches: &[Vec<Cond>]) -> Vec<String> {
    let mut out = Vec::new();
    for b in branches {
        collect_columns(b, &mut out);
    }
    out
}

fn collect_columns(conds: &[Cond], out: &mut Vec<String>) {
    for c in conds {
        match c {
            Cond::Eq(k) | Cond::Range(k) => {
                if let Some(col) = &k.column {
                    push_unique(out, col.clone());
                } else {
                    for col in columns_in(&k.text, &[]).0 {
                        push_unique(out, col);
                    }
                }
            }
            Cond::Or(branches) => {
                for b in branches {
                    collect_columns(b, out);
                }
            }
            Cond::Residual { columns, .. } => {
                for col in columns {
                    push_unique(out, col.clone());
                }
            }
        }
    }
}

pub fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Read a condition. `own` are the names the scanned relation goes by (alias, relation name).
pub fn analyze(expr: &str, own: &[&str]) -> Analysis {
    // Deeply nested (or enormous) text gets its columns only, which keeps the reading linear.
    if expr.len() > 1_000_000 || max_depth(expr) > 100 {
        return Analysis {
            conds: vec![residual(expr, own)],
        };
    }
    let mut conds = Vec::new();
    conjuncts(expr, own, 0, &mut conds);
    Analysis { conds }
}

/// Appends the conjuncts of `expr` to `out` (one vector for the whole condition, not one per
/// level).
fn conjuncts(expr: &str, own: &[&str], depth: usize, out: &mut Vec<Cond>) {
    let e = strip_outer_parens(expr.trim());
    if e.is_empty() {
        return;
    }
    if depth > 32 {
        out.push(residual(e, own));
        return;
    }
    // `split_top` splits only at ` AND ` / ` OR `: text without them is one part, and most terms
    // have neither; the substring search rules them out faster than the split's own walk.
    if let Some(ands) = e.contains(" AND ").then(|| split_top(e, "AND")).flatten() {
        for a in ands {
            conjuncts(a, own, depth + 1, out);
        }
        return;
    }
    if let Some(ors) = e.contains(" OR ").then(|| split_top(e, "OR")).flatten() {
        let branches = ors
            .iter()
            .map(|b| {
                let mut branch = Vec::new();
                conjuncts(b, own, depth + 1, &mut branch);
                branch
            })
            .collect();
        out.push(Cond::Or(branches));
        return;
    }
    out.push(term(e, own));
}

fn residual(e: &str, own: &[&str]) -> Cond {
    Cond::Residual {
        columns: columns_in(e, own).0,
        text: e.to_string(),
    }
}

/// One `operand OP operand` term (outer parentheses already removed).
fn term(e: &str, own: &[&str]) -> Cond {
    // Unary forms.
    for (suffix, eq) in [(" IS NULL", true), (" IS NOT NULL", false)] {
        if let Some(lhs) = e.strip_suffix(suffix) {
            if eq {
                if let Some(k) = key_of(lhs, own) {
                    return Cond::Eq(k);
                }
            }
            return residual(e, own);
        }
    }
    let Some((lhs, op, rhs)) = split_operator(e) else {
        // A bare boolean column (`WHERE active`) or `NOT active`.
        let inner = e.strip_prefix("NOT ").unwrap_or(e).trim();
        if let Some(col) = plain_column(inner, own) {
            return Cond::Eq(IndexKey {
                text: col.clone(),
                column: Some(col),
            });
        }
        return residual(e, own);
    };
    let (lhs_own, lhs_outer) = columns_in(lhs, own);
    let (rhs_own, rhs_outer) = columns_in(rhs, own);
    // What `residual(e, own)` gives, without reading the term a third time: the operator is a
    // token of its own between the operands, so the columns of `e` are the operands' in order.
    let unusable = || {
        let mut columns = lhs_own.clone();
        for c in &rhs_own {
            push_unique_str(&mut columns, c);
        }
        Cond::Residual {
            columns,
            text: e.to_string(),
        }
    };
    // The side with the scan's columns (and only them) is the key; the other side must not
    // mention them (it may mention other relations': their values are parameters).
    let (key_side, const_side, op) =
        if !lhs_own.is_empty() && rhs_own.is_empty() && lhs_outer.is_empty() {
            (lhs, rhs, op.to_string())
        } else if lhs_own.is_empty() && !rhs_own.is_empty() && rhs_outer.is_empty() {
            (rhs, lhs, commute(op).to_string())
        } else {
            return unusable();
        };
    let rhs_any = const_side.trim_start();
    let is_all = rhs_any.starts_with("ALL ") || rhs_any.starts_with("ALL(");
    let Some(key) = key_of(key_side, own) else {
        return unusable();
    };
    match op.as_str() {
        "=" if !is_all => Cond::Eq(key),
        "<" | "<=" | ">" | ">=" if !is_all && !rhs_any.starts_with("ANY") => Cond::Range(key),
        "~~" => match like_prefix(const_side) {
            Some(opclass) if key.column.is_some() => Cond::Range(IndexKey {
                text: format!("{} {opclass}", key.text),
                column: key.column,
            }),
            _ => unusable(),
        },
        _ => unusable(),
    }
}

/// `(a.x = b.y)`: an equality between two qualified plain columns, as `((a, x), (b, y))`.
pub fn equi_join(expr: &str) -> Option<((String, String), (String, String))> {
    let e = strip_outer_parens(expr.trim());
    let (lhs, op, rhs) = split_operator(e)?;
    if op != "=" {
        return None;
    }
    let side = |s: &str| match first_tokens(strip_outer_parens(s)) {
        (3, [(Kind::Ident, q), (Kind::Dot, _), (Kind::Ident, c)]) => {
            Some((q.to_string(), c.to_string()))
        }
        _ => None,
    };
    Some((side(lhs)?, side(rhs)?))
}

/// `<` seen from the other side is `>`, and so on.
fn commute(op: &str) -> &str {
    match op {
        "<" => ">",
        ">" => "<",
        "<=" => ">=",
        ">=" => "<=",
        o => o,
    }
}

/// For `'abc%'::text` (a constant pattern with a literal prefix), the btree operator class that
/// lets `LIKE` use it in any collation.
fn like_prefix(c: &str) -> Option<&'static str> {
    let c = c.trim();
    let rest = c.strip_prefix('\'')?;
    let first = rest.chars().next()?;
    if first == '%' || first == '_' || first == '\'' || first == '\\' {
        return None;
    }
    if c.ends_with("::character varying") {
        Some("varchar_pattern_ops")
    } else if c.ends_with("::bpchar") || c.ends_with("::character") {
        Some("bpchar_pattern_ops")
    } else {
        Some("text_pattern_ops")
    }
}

/// The index key for one side of a comparison: a plain column (casts such as `(c)::text` dropped)
/// or an expression (`(lower(email))`).
fn key_of(side: &str, own: &[&str]) -> Option<IndexKey> {
    let s = strip_outer_parens(side.trim());
    if s.is_empty() {
        return None;
    }
    if let Some(col) = plain_column(s, own) {
        return Some(IndexKey {
            text: col.clone(),
            column: Some(col),
        });
    }
    // `(c)::text` on a varchar column: the column's index serves it.
    if let Some(idx) = s.rfind("::") {
        let base = strip_outer_parens(s[..idx].trim());
        let ty = &s[idx + 2..];
        if ty
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == ' ' || ch == '_')
        {
            if let Some(col) = plain_column(base, own) {
                return Some(IndexKey {
                    text: col.clone(),
                    column: Some(col),
                });
            }
        }
    }
    // An expression over the scan's columns: index the expression, qualifiers removed.
    if !balanced(s) {
        return None;
    }
    let unq = unqualify(s, own);
    Some(IndexKey {
        text: format!("({unq})"),
        column: None,
    })
}

/// `col`, `alias.col` or `"Col"` when it names one of the scan's own columns.
fn plain_column(s: &str, own: &[&str]) -> Option<String> {
    match first_tokens(s) {
        (1, [(Kind::Ident, name), ..]) if !is_keyword(name) => Some(name.to_string()),
        (3, [(Kind::Ident, q), (Kind::Dot, _), (Kind::Ident, name)]) if is_own(q, own) => {
            Some(name.to_string())
        }
        _ => None,
    }
}

fn is_own(q: &str, own: &[&str]) -> bool {
    let q = q.trim_matches('"');
    own.iter().any(|o| o.eq_ignore_ascii_case(q))
}

/// Remove the scan's own qualifiers (`o.email` → `email`) outside string literals.
fn unqualify(s: &str, own: &[&str]) -> String {
    let mut toks: Vec<(Kind, &str)> = Vec::new();
    scan(s, |kind, text| toks.push((kind, text)));
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < toks.len() {
        if let ((Kind::Ident, q), Some((Kind::Dot, _))) = (toks[i], toks.get(i + 1)) {
            if is_own(q, own) {
                i += 2;
                continue;
            }
        }
        out.push_str(toks[i].1);
        i += 1;
    }
    out
}

/// Columns mentioned in `s`: (the scan's own, those of other relations), in order of appearance.
/// Function names, type names after `::`, keywords and parameters are not columns.
pub fn columns_in(s: &str, own: &[&str]) -> (Vec<String>, Vec<String>) {
    // Borrowed tokens (no string per token): this runs for every term of every filter. A usual
    // operand's tokens fit on the stack; longer texts move them to a vector.
    let mut inline = [(Kind::Space, ""); 24];
    let mut spilled: Vec<(Kind, &str)> = Vec::new();
    let mut n = 0;
    scan(s, |kind, text| {
        if kind != Kind::Space {
            if n < inline.len() {
                inline[n] = (kind, text);
            } else {
                if n == inline.len() {
                    spilled.extend_from_slice(&inline);
                }
                spilled.push((kind, text));
            }
            n += 1;
        }
    });
    let toks: &[(Kind, &str)] = if n <= inline.len() {
        &inline[..n]
    } else {
        &spilled
    };
    let kind_at = |j: usize| toks.get(j).map(|t| t.0);
    let mut mine = Vec::new();
    let mut outer = Vec::new();
    let mut i = 0;
    let mut after_cast = false;
    while i < toks.len() {
        match toks[i] {
            (Kind::Cast, _) => after_cast = true,
            (Kind::Ident, name) => {
                if after_cast {
                    // Type names, possibly schema-qualified (`ip.proxysource`) or several words
                    // (`timestamp without time zone`).
                    i += 1;
                    if let (Some(Kind::Dot), Some(Kind::Ident)) = (kind_at(i), kind_at(i + 1)) {
                        i += 2;
                    }
                    while let Some(&(Kind::Ident, w)) = toks.get(i) {
                        if is_type_word(w) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    after_cast = false;
                    continue;
                }
                let next = kind_at(i + 1);
                if next == Some(Kind::Open) || is_keyword(name) {
                    // a function name or a keyword
                } else if next == Some(Kind::Dot) {
                    if let Some(&(Kind::Ident, col)) = toks.get(i + 2) {
                        if kind_at(i + 3) != Some(Kind::Open) {
                            if is_own(name, own) {
                                push_unique_str(&mut mine, col);
                            } else {
                                let q = format!("{name}.{col}");
                                push_unique(&mut outer, q);
                            }
                        }
                    }
                    i += 3;
                    continue;
                } else {
                    push_unique_str(&mut mine, name);
                }
            }
            (Kind::Other, _) => after_cast = false,
            _ => {}
        }
        i += 1;
    }
    (mine, outer)
}

/// `push_unique`, copying `s` only when it is new.
fn push_unique_str(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn is_type_word(w: &str) -> bool {
    ["without", "with", "time", "zone", "varying", "precision"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

pub(crate) fn is_keyword(w: &str) -> bool {
    if w.starts_with('"') {
        return false;
    }
    // Lower-cased on the stack: the longest keyword has 17 bytes.
    let mut buf = [0u8; 24];
    if w.len() > buf.len() {
        return false;
    }
    let lower = &mut buf[..w.len()];
    lower.copy_from_slice(w.as_bytes());
    lower.make_ascii_lowercase();
    // Compared as bytes: lower-casing ASCII keeps the text valid UTF-8, so no check is needed.
    matches!(
        &*lower,
        b"and"
            | b"or"
            | b"not"
            | b"any"
            | b"all"
            | b"some"
            | b"is"
            | b"null"
            | b"true"
            | b"false"
            | b"distinct"
            | b"from"
            | b"case"
            | b"when"
            | b"then"
            | b"else"
            | b"end"
            | b"collate"
            | b"array"
            | b"row"
            | b"in"
            | b"like"
            | b"ilike"
            | b"similar"
            | b"to"
            | b"between"
            | b"subplan"
            | b"initplan"
            | b"hashed"
            | b"alternatives"
            | b"returns"
            | b"current_date"
            | b"current_timestamp"
            | b"localtimestamp"
            | b"current_user"
            | b"session_user"
            | b"unknown"
            | b"interval"
            | b"escape"
            | b"at"
            | b"zone"
            | b"default"
    )
}

/// The number of tokens in `s` (whitespace not counted) and the first three of them: enough to
/// recognise `name` and `qualifier.name` without collecting the tokens.
fn first_tokens(s: &str) -> (usize, [(Kind, &str); 3]) {
    let mut first = [(Kind::Space, ""); 3];
    let mut n = 0;
    scan(s, |kind, text| {
        if kind != Kind::Space {
            if let Some(slot) = first.get_mut(n) {
                *slot = (kind, text);
            }
            n += 1;
        }
    });
    (n, first)
}

/// A token's kind, before its text is copied (see `scan`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Ident,
    Dot,
    Open,
    Close,
    Cast,
    Space,
    Other,
}

/// The tokenizer: calls `emit` with each token's kind and text, in order, without allocating
/// (conditions are tokenized many times over on big plans).
pub(crate) fn scan<'a>(s: &'a str, mut emit: impl FnMut(Kind, &'a str)) {
    let bytes = s.as_bytes();
    // The character at byte `i`: ASCII read directly (conditions are mostly ASCII), anything
    // else decoded.
    let at = |i: usize| match bytes.get(i) {
        Some(&b) if b.is_ascii() => Some(b as char),
        Some(_) => s[i..].chars().next(),
        None => None,
    };
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        i += c.len_utf8();
        let kind = if c == '\'' || c == '"' {
            // Up to the closing quote (a doubled quote is part of the text), or the end. The
            // quote is ASCII, and no byte of a multi-byte character is: searched byte by byte.
            let q = c as u8;
            loop {
                match bytes[i..].iter().position(|&b| b == q) {
                    Some(p) => {
                        i += p;
                        if bytes.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                    }
                    None => i = s.len(),
                }
                break;
            }
            if i < s.len() {
                i += 1;
            }
            if c == '"' {
                Kind::Ident
            } else {
                Kind::Other
            }
        } else if c.is_alphabetic() || c == '_' {
            while let Some(&b) = bytes.get(i) {
                // ASCII answered from the byte; other characters decoded.
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' {
                    i += 1;
                } else if b.is_ascii() {
                    break;
                } else {
                    match at(i) {
                        Some(d) if d.is_alphanumeric() => i += d.len_utf8(),
                        _ => break,
                    }
                }
            }
            Kind::Ident
        } else if c.is_ascii_digit() || c == '$' {
            while let Some(d) = at(i) {
                if d.is_ascii_alphanumeric() || d == '.' || d == '_' {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Other
        } else if c == ':' && at(i) == Some(':') {
            i += 1;
            Kind::Cast
        } else {
            match c {
                '.' => Kind::Dot,
                '(' | '[' => Kind::Open,
                ')' | ']' => Kind::Close,
                c if c.is_whitespace() => Kind::Space,
                _ => Kind::Other,
            }
        };
        emit(kind, &s[start..i]);
    }
}

/// The deepest parenthesis nesting (quotes ignored: an upper bound is enough).
fn max_depth(s: &str) -> usize {
    let (mut d, mut m) = (0usize, 0usize);
    for b in s.bytes() {
        match b {
            b'(' => {
                d += 1;
                m = m.max(d);
            }
            b')' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    m
}

/// Parentheses balance (outside quotes).
fn balanced(s: &str) -> bool {
    let mut depth = 0i64;
    let mut ok = true;
    scan(s, |kind, _| match kind {
        Kind::Open => depth += 1,
        Kind::Close => {
            depth -= 1;
            ok &= depth >= 0;
        }
        _ => {}
    });
    ok && depth == 0
}

/// A set of bytes, as a table indexed by byte.
const fn byte_set(members: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < members.len() {
        set[members[i] as usize] = true;
        i += 1;
    }
    set
}

/// The bytes `strip_outer_parens` acts on; the walkers below step over all others in a tight
/// loop (they run several times over every condition).
static STOPS_PARENS: [bool; 256] = byte_set(b"'\"()");
/// The bytes `split_top` acts on.
static STOPS_SPLIT: [bool; 256] = byte_set(b"'\"()[] ");
/// Operator characters.
static OPERATOR: [bool; 256] = byte_set(b"=<>!~*@&|#^?%+-/");
/// The bytes `split_operator` acts on once it has seen an operand: quotes, brackets, `:` (of
/// `::`) and operator characters.
static STOPS_OPERATOR: [bool; 256] = byte_set(b"'\"()[]:=<>!~*@&|#^?%+-/");

/// From the quote at `bytes[open]`, the position just past its closing quote (a doubled quote
/// reads as a close and a reopen, which comes to the same), or the end when it is unterminated.
/// The quote is ASCII, and no byte of a multi-byte character is: searched byte by byte.
fn skip_quoted(bytes: &[u8], open: usize) -> usize {
    let q = bytes[open];
    match bytes[open + 1..].iter().position(|&b| b == q) {
        Some(p) => open + 1 + p + 1,
        None => bytes.len(),
    }
}

/// Remove parentheses that wrap the whole text: `((a = 1))` → `a = 1`.
pub fn strip_outer_parens(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        if !(s.starts_with('(') && s.ends_with(')')) {
            return s;
        }
        // Does the first '(' close at the very end?
        // Bytes, not characters: every byte this looks for is ASCII, and no byte of a
        // multi-byte character is.
        let bytes = s.as_bytes();
        let mut depth = 0i64;
        let mut closes_at_end = false;
        let mut n = 0;
        while n < bytes.len() {
            let c = bytes[n];
            if !STOPS_PARENS[c as usize] {
                n += 1;
                continue;
            }
            match c {
                b'\'' | b'"' => {
                    // Past the closing quote; an unterminated quote runs to the end.
                    n = skip_quoted(bytes, n);
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        // `)` is one byte: the last character when it ends the text.
                        closes_at_end = n + 1 == s.len();
                        break;
                    }
                }
                _ => {}
            }
            n += 1;
        }
        if !closes_at_end {
            return s;
        }
        s = s[1..s.len() - 1].trim();
    }
}

/// Split on a keyword (`AND`, `OR`) at parenthesis depth 0, outside quotes: the parts, or `None`
/// when the keyword does not occur there (most terms: no vector allocated for them).
fn split_top<'a>(s: &'a str, kw: &str) -> Option<Vec<&'a str>> {
    // ` KW ` compared in place (no pattern string built per call: this runs for every conjunct).
    let kw = kw.as_bytes();
    let is_kw_at = |bytes: &[u8], i: usize| {
        bytes[i + 1..].starts_with(kw) && bytes.get(i + 1 + kw.len()) == Some(&b' ')
    };
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i64;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !STOPS_SPLIT[c as usize] {
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                i = skip_quoted(bytes, i);
                continue;
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b' ' if depth == 0 && is_kw_at(bytes, i) => {
                parts.push(&s[last..i]);
                i += kw.len() + 2;
                last = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(&s[last..]);
    Some(parts)
}

/// `lhs OP rhs` at depth 0: the first run of operator characters after the first operand.
fn split_operator(s: &str) -> Option<(&str, &str, &str)> {
    let bytes = s.as_bytes();
    let mut depth = 0i64;
    let mut i = 0;
    let mut seen_operand = false;
    while i < bytes.len() {
        let c = bytes[i];
        // Once an operand is seen, only the bytes of `STOPS_OPERATOR` matter.
        if seen_operand && !STOPS_OPERATOR[c as usize] {
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                i = skip_quoted(bytes, i);
                seen_operand = true;
                continue;
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                continue;
            }
            c if depth == 0 && seen_operand && OPERATOR[c as usize] => {
                let start = i;
                while i < bytes.len() && OPERATOR[bytes[i] as usize] {
                    i += 1;
                }
                let lhs = s[..start].trim();
                let op = &s[start..i];
                let rhs = s[i..].trim();
                if lhs.is_empty() || rhs.is_empty() {
                    return None;
                }
                return Some((lhs, op, rhs));
            }
            b' ' => {}
            _ => seen_operand = true,
        }
        i += 1;
    }
    None
}

/// Quote an identifier the way PostgreSQL needs it (lower-case simple names stay bare).
pub fn quote_ident(s: &str) -> String {
    let mut out = String::new();
    push_quoted_ident(&mut out, s);
    out
}

/// `quote_ident`, appended to `out`.
pub fn push_quoted_ident(out: &mut String, s: &str) {
    let simple = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if simple && !is_keyword(s) && !matches!(s, "user" | "order" | "group" | "table" | "select") {
        out.push_str(s);
    } else {
        out.push('"');
        for (i, part) in s.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    }
}

/// Build an index column list: equality keys, then range keys, then sort keys, without repeats.
pub fn index_columns(eq: &[IndexKey], range: &[IndexKey], sort: &[IndexKey]) -> Vec<IndexKey> {
    index_columns_in_order(eq.iter().chain(range).chain(sort))
}

/// `index_columns` over keys already in order (equality, range, sort), without repeats.
pub fn index_columns_in_order<'k>(keys: impl IntoIterator<Item = &'k IndexKey>) -> Vec<IndexKey> {
    let mut out: Vec<IndexKey> = Vec::new();
    for k in keys {
        if !out.iter().any(|o| o.same_target(k)) {
            out.push(k.clone());
        }
    }
    out
}

/// A sort key as printed (`orders.created_at`, `created_at DESC`, `lower(email)`), as an index key
/// on the scan's relation; `None` when it is not over the scan's columns alone.
pub fn sort_key(key: &str, own: &[&str]) -> Option<IndexKey> {
    let mut k = key.trim();
    let mut suffix = String::new();
    for s in [" NULLS FIRST", " NULLS LAST", " DESC", " ASC"] {
        if let Some(rest) = k.strip_suffix(s) {
            suffix.insert_str(0, s);
            k = rest.trim_end();
        }
    }
    if k.contains(" USING ") || k.contains(" COLLATE ") {
        return None;
    }
    let (mine, outer) = columns_in(k, own);
    if mine.is_empty() || !outer.is_empty() {
        return None;
    }
    let mut base = key_of(k, own)?;
    if suffix.is_empty() {
        return Some(base);
    }
    // `created_at DESC` is still the column `created_at`: it must not enter an index a second
    // time after a condition on it, nor be offered again as an INCLUDE column.
    base.text.push_str(&suffix);
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[IndexKey]) -> Vec<String> {
        v.iter().map(|k| k.text.clone()).collect()
    }

    #[test]
    fn equality_and_range() {
        let a = analyze(
            "((status = 'shipped'::text) AND (created_at > '2024-01-01'::date))",
            &["orders"],
        );
        assert_eq!(texts(&a.equality()), ["status"]);
        assert_eq!(texts(&a.range()), ["created_at"]);
        assert!(a.ors().is_empty() && a.residuals().is_empty());
    }

    #[test]
    fn an_unusable_term_lists_the_columns_of_the_whole_term() {
        // `term` builds these columns from its two operands; they must be what reading the
        // whole term gives.
        let own = ["o", "orders"];
        for e in [
            "o.status <> ALL ('{cancelled,refunded}'::text[])",
            "o.a - 1 <> o.b",
            "o.a <> o.a",
            "o.created_at::date <> p.day",
            "lower(o.email) ~~ '%x'::text",
            "(o.a)::text <> (o.\"Weird Col\" || o.b)",
            "o.amount + p.bonus = o.total",
            "1e-5 <> o.ratio",
            "o.é <> o.b",
            "o.x. <> o.y",
        ] {
            match term(e, &own) {
                Cond::Residual { columns, text } => {
                    assert_eq!(text, e);
                    assert_eq!(columns, columns_in(e, &own).0, "{e}");
                }
                other => panic!("{e}: expected a residual, got {other:?}"),
            }
        }
    }

    #[test]
    fn qualified_and_reversed() {
        let a = analyze(
            "(('2024-01-01'::date < o.created_at) AND (o.status = 'x'::text))",
            &["o", "orders"],
        );
        assert_eq!(texts(&a.equality()), ["status"]);
        assert_eq!(texts(&a.range()), ["created_at"]);
    }

    #[test]
    fn in_list_is_equality() {
        let a = analyze("(a = ANY ('{1,2}'::integer[]))", &["t"]);
        assert_eq!(texts(&a.equality()), ["a"]);
        let a = analyze("(a <> ALL ('{1,2}'::integer[]))", &["t"]);
        assert!(a.equality().is_empty());
        assert_eq!(a.residuals()[0].0, ["a".to_string()]);
    }

    #[test]
    fn expression_index() {
        let a = analyze("(lower(u.email) = 'x@y'::text)", &["u"]);
        assert_eq!(texts(&a.equality()), ["(lower(email))"]);
        let a = analyze("((a + b) = 150)", &["t"]);
        assert_eq!(texts(&a.equality()), ["(a + b)"]);
    }

    #[test]
    fn like_prefix_uses_pattern_ops() {
        let a = analyze("(c ~~ 'v1%'::text)", &["t"]);
        assert_eq!(texts(&a.range()), ["c text_pattern_ops"]);
        let a = analyze("((name)::text ~~ 'ab%'::character varying)", &["t"]);
        assert_eq!(texts(&a.range()), ["name varchar_pattern_ops"]);
        let a = analyze("(c ~~ '%v1'::text)", &["t"]);
        assert!(a.range().is_empty());
        assert_eq!(a.residuals()[0].0, ["c".to_string()]);
    }

    #[test]
    fn or_conditions() {
        let a = analyze(
            "((customer_id = ANY ('{7,8,9}'::integer[])) OR (total > 99.5))",
            &["orders"],
        );
        let ors = a.ors();
        assert_eq!(ors.len(), 1);
        assert_eq!(ors[0].len(), 2);
        assert_eq!(a.columns(), ["customer_id", "total"]);
    }

    #[test]
    fn outer_references_are_constants() {
        let a = analyze("(u.t_id = t.id)", &["u"]);
        assert_eq!(texts(&a.equality()), ["t_id"]);
        let a = analyze("((f.v + g.f_v) = 150)", &["f"]);
        assert!(a.equality().is_empty());
        assert_eq!(a.residuals().len(), 1);
    }

    #[test]
    fn casts_nulls_booleans() {
        let a = analyze("((email)::text = 'a'::text)", &["t"]);
        assert_eq!(texts(&a.equality()), ["email"]);
        let a = analyze("((deleted_at IS NULL) AND active)", &["t"]);
        assert_eq!(texts(&a.equality()), ["deleted_at", "active"]);
        let a = analyze(
            "(ts >= '2024-01-01 00:00:00'::timestamp without time zone)",
            &["t"],
        );
        assert_eq!(texts(&a.range()), ["ts"]);
        let a = analyze("(created_at > (now() - '1 day'::interval))", &["t"]);
        assert_eq!(texts(&a.range()), ["created_at"]);
        let (mine, outer) = columns_in("(source = 'tor'::ip.proxysource)", &["proxies"]);
        assert_eq!(mine, ["source"]);
        assert!(outer.is_empty(), "{outer:?}");
        let a = analyze("(\"Weird Col\" = 3)", &["t"]);
        assert_eq!(texts(&a.equality()), ["\"Weird Col\""]);
    }

    #[test]
    fn unreadable_text_never_produces_garbage() {
        for s in [
            "(hashed SubPlan 1)",
            "(alternatives: SubPlan 1 or hashed SubPlan 2)",
            "((",
            "))",
            "",
            "(a = )",
            "'unterminated",
            "(x @@ to_tsquery('a & b'::text))",
            "CASE WHEN (a > 1) THEN true ELSE false END",
        ] {
            let a = analyze(s, &["t"]);
            for col in a.columns() {
                assert!(
                    col.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == ' '),
                    "{s:?} gave column {col:?}"
                );
                assert!(!is_keyword(&col), "{s:?} gave keyword {col:?}");
            }
        }
        assert!(analyze("(hashed SubPlan 1)", &["t"]).columns().is_empty());
        assert_eq!(
            analyze("(x @@ to_tsquery('a & b'::text))", &["t"]).columns(),
            ["x"]
        );
    }

    #[test]
    fn sort_keys() {
        assert_eq!(
            sort_key("orders.created_at", &["orders"]).unwrap().text,
            "created_at"
        );
        assert_eq!(
            sort_key("created_at DESC", &["orders"]).unwrap().text,
            "created_at DESC"
        );
        assert_eq!(
            sort_key("lower(email)", &["t"]).unwrap().text,
            "(lower(email))"
        );
        assert!(sort_key("other.x", &["t"]).is_none());
        assert!(sort_key("count(*)", &["t"]).is_none());
    }

    #[test]
    fn column_order_and_dedup() {
        let k = |s: &str| IndexKey {
            text: s.into(),
            column: Some(s.into()),
        };
        let cols = index_columns(
            &[k("status")],
            &[k("created_at")],
            &[k("created_at"), k("id")],
        );
        assert_eq!(texts(&cols), ["status", "created_at", "id"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let a = analyze(&s, &["t"]);
            let _ = a.columns();
            let _ = sort_key(&s, &["t"]);
        }

        #[test]
        fn never_panics_on_condition_like_text(s in "[()a-z_. '=<>:~%ANDOR0-9é\\[\\]\"]{0,60}") {
            let a = analyze(&s, &["t", "x"]);
            let _ = (a.equality(), a.range(), a.ors(), a.residuals(), a.columns());
        }
    }

    #[test]
    fn pathological_text_is_fast() {
        let deep = format!("{}a = 1{}", "(".repeat(50_000), ")".repeat(50_000));
        let t = std::time::Instant::now();
        assert_eq!(analyze(&deep, &["t"]).columns(), ["a"]);
        let list: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
        let big_in = format!("(a = ANY ('{{{}}}'::integer[]))", list.join(","));
        assert_eq!(texts(&analyze(&big_in, &["t"]).equality()), ["a"]);
        assert!(t.elapsed().as_secs() < 5);
    }

    #[test]
    fn equi_joins() {
        assert_eq!(
            equi_join("(u.t_id = t.id)"),
            Some((("u".into(), "t_id".into()), ("t".into(), "id".into())))
        );
        assert_eq!(equi_join("((f.v + g.f_v) = 150)"), None);
        assert_eq!(equi_join("(u.t_id < t.id)"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("order"), "\"order\"");
    }
}
