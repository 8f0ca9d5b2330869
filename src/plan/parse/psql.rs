//! Undo what psql (and copy-paste) adds around a plan: the `QUERY PLAN` header, the dashes, the
//! `(N rows)` footer, `+` continuation marks, frames, line numbers, quotes from CSV exports, and a
//! common leading indentation.
//!
//! The plan's own indentation (which encodes the tree) is kept: only what is common to every line
//! is removed. Lines the cleaner drops are remembered in `line_map`, so an error found in the
//! cleaned text can name the line of the original input.

use std::borrow::Cow;

/// `str::trim`, `trim_start` and `trim_end`, quick on the ASCII spaces plan lines are indented
/// and padded with (the general ones decode every character); same results.
pub(crate) trait FastTrim {
    fn ftrim_start(&self) -> &str;
    fn ftrim_end(&self) -> &str;
    fn ftrim(&self) -> &str {
        self.ftrim_start().ftrim_end()
    }
}

/// The number of ASCII spaces `b` starts with, eight bytes at a time (plan lines are indented
/// by up to hundreds of spaces).
#[inline]
pub(crate) fn leading_spaces(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ 0x2020_2020_2020_2020;
        if w != 0 {
            return i + (w.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` that is below `n` (`n` ≤ 128). Exact for the lowest such
/// byte, which is the only one callers read (`trailing_zeros`): a borrow can only mark bytes above
/// a true match.
#[inline]
pub(crate) fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
}

/// The high bit of every byte of `word` equal to `b` (exact for the lowest, as `bytes_below`).
#[inline]
pub(crate) fn bytes_equal(word: u64, b: u8) -> u64 {
    bytes_below(word ^ (ONES * u64::from(b)), 1)
}

/// The first `needle` in `b`, eight bytes at a time: plan lines are short (~80 bytes), where
/// `str::find` and `str::split` spend more setting up their search than searching.
#[inline]
pub(crate) fn find_byte(b: &[u8], needle: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let found = bytes_equal(
            u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])),
            needle,
        );
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == needle).map(|p| i + p)
}

/// `s.split('\n')`, searching with `find_byte`.
pub(crate) fn split_lines(s: &str) -> SplitLines<'_> {
    split_on(s, b'\n')
}

/// `s.split(sep)` for an ASCII `sep`, searching with `find_byte`.
pub(crate) fn split_on(s: &str, sep: u8) -> SplitLines<'_> {
    debug_assert!(sep.is_ascii());
    SplitLines {
        rest: Some(s),
        sep,
        strip_cr: false,
        last_cr: false,
    }
}

/// `s.lines()` (a final `\n` ends the last line; `\r\n` ends a line too), with `find_byte`.
pub(crate) fn lines_of(s: &str) -> SplitLines<'_> {
    SplitLines {
        rest: (!s.is_empty()).then(|| s.strip_suffix('\n').unwrap_or(s)),
        sep: b'\n',
        strip_cr: true,
        last_cr: s.ends_with('\n'),
    }
}

/// The pieces of `split_lines`, `split_on` and `lines_of`.
pub(crate) struct SplitLines<'a> {
    rest: Option<&'a str>,
    /// An ASCII byte, so the pieces are on char boundaries.
    sep: u8,
    /// Drop a `\r` before each `\n` (as `str::lines` does)…
    strip_cr: bool,
    /// …including the last line's, when a `\n` (taken off `rest`) ended it.
    last_cr: bool,
}

impl<'a> Iterator for SplitLines<'a> {
    type Item = &'a str;
    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let r = self.rest?;
        match find_byte(r.as_bytes(), self.sep) {
            Some(i) => {
                // `sep` is ASCII: `i` and `i + 1` are char boundaries.
                self.rest = Some(&r[i + 1..]);
                let line = &r[..i];
                Some(if self.strip_cr {
                    line.strip_suffix('\r').unwrap_or(line)
                } else {
                    line
                })
            }
            None => {
                self.rest = None;
                Some(if self.last_cr {
                    r.strip_suffix('\r').unwrap_or(r)
                } else {
                    r
                })
            }
        }
    }
}

impl FastTrim for str {
    #[inline]
    fn ftrim_start(&self) -> &str {
        let i = leading_spaces(self.as_bytes());
        // `i` follows ASCII bytes only, so it is a char boundary.
        let r = &self[i..];
        match r.as_bytes().first() {
            Some(c) if c.is_ascii_graphic() => r,
            _ => r.trim_start(),
        }
    }
    #[inline]
    fn ftrim_end(&self) -> &str {
        let b = self.as_bytes();
        let mut i = b.len();
        while i > 0 && b[i - 1] == b' ' {
            i -= 1;
        }
        let r = &self[..i];
        match r.as_bytes().last() {
            Some(c) if c.is_ascii_graphic() => r,
            _ => r.trim_end(),
        }
    }
}

/// Plan text with psql's decorations removed, remembering where each line came from.
#[derive(Debug, Clone, Default)]
pub struct Cleaned<'a> {
    /// Borrowed from the input when cleaning changed nothing (no copy of a 100 MB plan).
    pub text: Cow<'a, str>,
    /// `line_map[i]` is the 1-based line in the original input of cleaned line `i + 1`.
    pub line_map: Vec<usize>,
}

impl Cleaned<'_> {
    /// The original line of cleaned line `line` (1-based).
    pub fn original_line(&self, line: usize) -> usize {
        if line == 0 {
            return self.line_map.first().copied().unwrap_or(1);
        }
        self.line_map
            .get(line - 1)
            .copied()
            .or_else(|| self.line_map.last().copied())
            .unwrap_or(line)
    }
    pub fn first_line(&self) -> usize {
        self.original_line(1)
    }
    /// Cleaned lines with their original line numbers.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (self.original_line(i + 1), l))
    }
}

/// Characters psql uses to draw frames and rules (ASCII and Unicode line styles).
fn is_rule_char(c: char) -> bool {
    matches!(
        c,
        '-' | '+'
            | '='
            | '─'
            | '━'
            | '═'
            | '│'
            | '║'
            | '┌'
            | '┐'
            | '└'
            | '┘'
            | '├'
            | '┤'
            | '┬'
            | '┴'
            | '┼'
            | '╔'
            | '╗'
            | '╚'
            | '╝'
            | '╠'
            | '╣'
            | '╦'
            | '╩'
            | '╬'
            | '╟'
            | '╢'
            | '╞'
            | '╡'
            | '╤'
            | '╧'
            | '╪'
            | '╫'
            | '╓'
            | '╖'
            | '╙'
            | '╜'
            | '╒'
            | '╕'
            | '╘'
            | '╛'
    )
}

/// Vertical frame characters: `|`, `│`, `║`.
fn is_vbar(c: char) -> bool {
    matches!(c, '|' | '│' | '║')
}

/// A rule line: only frame characters (at least three, with at least one horizontal rule), e.g.
/// `-----`, `+----+`, `╔════╗`, `├───┤`, `-----+` (DBeaver).
fn is_rule_line(t: &str) -> bool {
    let mut n = 0;
    let mut horizontal = false;
    for c in t.chars() {
        if !is_rule_char(c) && !is_vbar(c) {
            return false;
        }
        if matches!(c, '-' | '─' | '━' | '═') {
            horizontal = true;
        }
        n += 1;
    }
    n >= 3 && horizontal
}

/// `(3 rows)`, `(1 row)`, `(3 lignes)`, `(12 Zeilen)`: psql's footer, in any language.
fn is_rows_footer(t: &str) -> bool {
    let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) else {
        return false;
    };
    let mut parts = inner.splitn(2, ' ');
    let (Some(num), Some(word)) = (parts.next(), parts.next()) else {
        return false;
    };
    !num.is_empty()
        && num.bytes().all(|b| b.is_ascii_digit())
        && !word.is_empty()
        && word.len() <= 16
        && word.chars().all(|c| c.is_alphabetic())
}

/// Whether a (trimmed) line is a column header psql prints above the rule: `QUERY PLAN`, or a
/// single identifier (a function's name, as in `SELECT explain_analyze_without_memory(...)`).
fn is_header_text(t: &str) -> bool {
    let t = t.trim_matches(|c: char| is_vbar(c) || c.is_whitespace());
    t == "QUERY PLAN"
        || (!t.is_empty()
            && t.len() <= 64
            && t.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ' ')
            && !t.contains("  "))
}

/// A line starting with a psql prompt: `postgres=# …`, `[1](2)user@db=> …`, `db-# …`.
fn is_prompt_line(l: &str) -> bool {
    // The first whitespace-separated word (`split_whitespace().next()`, without the iterator).
    let t = l.ftrim_start();
    let first = &t[..t.find(char::is_whitespace).unwrap_or(t.len())];
    first.len() > 2
        && (first.ends_with("=#") || first.ends_with("=>") || first.ends_with("-#"))
        && t.len() > first.len()
}

/// The quick path of `clean`, for the usual input: ASCII lines with at most psql's header, rules
/// and `(N rows)` footer around the plan. It returns `None` (the full cleaner runs) on anything
/// else the cleaner would change — a prompt, a carriage return, a non-ASCII character (Unicode
/// frames, `↵`, `…`), a line ending in `+` or starting with `.` (continuation and wrap marks) —
/// or when no kept line rules out line numbers, quotes, expanded display and side frames. What
/// it returns is what the full cleaner returns for the same input.
fn clean_quick(input: &str) -> Option<Cleaned<'_>> {
    // Kept lines: (1-based line number, text); blank lines are kept too.
    let mut kept: Vec<(usize, &str)> = Vec::with_capacity(input.len() / 48 + 1);
    // Whether the previous physical line was dropped (a rule, a header or a footer).
    let mut refuted = false;
    // Any non-ASCII line sends the input to the full cleaner: ask once, for the whole input
    // (line ends are ASCII); likewise look for `\r` in lines only when the input has one.
    if !input.is_ascii() {
        return None;
    }
    let has_cr = input.as_bytes().contains(&b'\r');
    for (i, l) in lines_of(input).enumerate() {
        let n = i + 1;
        if has_cr && l.as_bytes().contains(&b'\r') {
            return None;
        }
        let t = l.ftrim();
        if t.is_empty() {
            kept.push((n, l));
            continue;
        }
        let b = t.as_bytes();
        if b.iter().all(|c| matches!(c, b'-' | b'+' | b'=' | b'|')) {
            if !is_rule_line(t) {
                return None;
            }
            // A rule: drop the header just above it, as `clean` does.
            let Some(j) = kept.iter().rposition(|(_, l)| !l.ftrim().is_empty()) else {
                continue;
            };
            let bare = |l: &str| {
                l.trim_matches(|c: char| is_vbar(c) || c.is_whitespace())
                    .to_string()
            };
            let (jn, jl) = kept[j];
            let h = bare(jl);
            // The physical line above the header, when it was kept (`None`: dropped or none).
            let above = (j > 0 && kept[j - 1].0 + 1 == jn).then(|| kept[j - 1]);
            if h == "QUERY PLAN" {
                kept.remove(j);
            } else if above.is_some_and(|(_, a)| format!("{}{}", bare(a), h) == "QUERY PLAN") {
                kept.remove(j);
                kept.remove(j - 1);
            } else if is_header_text(&h) {
                let inner = jl.trim_start_matches(|c: char| is_vbar(c));
                let lead = inner.len() - inner.ftrim_start().len();
                let top = jn == 1 || above.is_some_and(|(_, a)| a.ftrim().is_empty());
                if lead >= 3 && top {
                    kept.remove(j);
                }
            }
            continue;
        }
        if is_rows_footer(t) || t == "QUERY PLAN" {
            continue;
        }
        // A prompt's first word ends in `=#`, `=>` or `-#` (`is_prompt_line`, checked on `t`, the
        // same text after the same trim): bail out on any such word.
        let first = &b[..b
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == 0x0b)
            .unwrap_or(b.len())];
        let prompt = first.ends_with(b"=#") || first.ends_with(b"=>") || first.ends_with(b"-#");
        if prompt || b[b.len() - 1] == b'+' || b[0] == b'.' {
            return None;
        }
        // A line with a parenthesis is never taken for a header; when it neither starts with a
        // digit, `-`, `Q`, `|` nor ends with a quote or `|`, not every line has line numbers,
        // quotes, expanded-display labels or side frames, so those passes change nothing.
        if !refuted
            && b.contains(&b'(')
            && !matches!(b[0], b'0'..=b'9' | b'-' | b'Q' | b'|')
            && !matches!(b[b.len() - 1], b'"' | b'\'' | b'|')
            && !l.starts_with("QUERY PLAN |")
        {
            refuted = true;
        }
        kept.push((n, l));
    }
    if !refuted {
        return None;
    }
    // Kept lines are the input's own (no `\r` was taken off): `finish` may borrow the input.
    Some(finish(&kept, input, !has_cr))
}

/// Remove psql decorations.
pub fn clean(input: &str) -> Cleaned<'_> {
    clean_quick(input).unwrap_or_else(|| clean_full(input))
}

/// The full cleaner (every pass); `clean` tries the quick path first.
#[doc(hidden)]
pub fn clean_full(input: &str) -> Cleaned<'_> {
    // 1. Physical lines, with their original (1-based) numbers; trailing whitespace and CR gone.
    // psql prompts echoed with a pasted session (`db=# EXPLAIN …`, `db-# …`): not plan text.
    let mut lines: Vec<(usize, Cow<'_, str>)> = input
        .lines()
        .enumerate()
        .filter(|(_, l)| !is_prompt_line(l))
        .map(|(i, l)| (i + 1, Cow::Borrowed(l)))
        .collect();
    strip_expanded(&mut lines);
    strip_line_numbers(&mut lines);
    strip_quotes(&mut lines);

    // 2. Drop rules, headers (the lines right above a rule), footers; remember rule positions.
    let mut keep: Vec<bool> = vec![true; lines.len()];
    for i in 0..lines.len() {
        let t = lines[i].1.ftrim();
        if is_rule_line(t) {
            keep[i] = false;
            // The header is the line just above the rule: `QUERY PLAN` (possibly wrapped by the
            // terminal into `QUERY PLA` / `N`, possibly inside a frame), or a centred column name.
            let mut j = i;
            let mut found = None;
            while j > 0 {
                j -= 1;
                if keep[j] && !lines[j].1.ftrim().is_empty() {
                    found = Some(j);
                    break;
                }
            }
            if let Some(j) = found {
                let bare = |k: usize| {
                    lines[k]
                        .1
                        .trim_matches(|c: char| is_vbar(c) || c.is_whitespace())
                        .to_string()
                };
                let h = bare(j);
                if h == "QUERY PLAN" {
                    keep[j] = false;
                } else if j > 0 && keep[j - 1] && format!("{}{}", bare(j - 1), h) == "QUERY PLAN" {
                    keep[j] = false;
                    keep[j - 1] = false;
                } else if is_header_text(&h) {
                    let inner = lines[j].1.trim_start_matches(|c: char| is_vbar(c));
                    let lead = inner.len() - inner.ftrim_start().len();
                    let top = j == 0 || lines[j - 1].1.ftrim().is_empty();
                    if lead >= 3 && top {
                        keep[j] = false;
                    }
                }
            }
        } else if is_rows_footer(t) || t == "QUERY PLAN" {
            keep[i] = false;
        }
    }
    let mut kept: Vec<(usize, Cow<'_, str>)> = lines
        .into_iter()
        .zip(keep)
        .filter_map(|(l, k)| k.then_some(l))
        .collect();

    strip_frames(&mut kept);

    // 3. Continuation marks: psql's `+` (ascii), `↵` (unicode) after the padding of a multi-line
    //    value; `…`/`.` wrap marks of `\pset format wrapped` join the next line.
    // psql pads a multi-line value to its column width and puts `+` after it: the longest line
    // has its `+` right after the text, at the column the padded lines have theirs.
    let plus_col = kept
        .iter()
        .map(|(_, l)| l.ftrim_end())
        .filter(|t| t.ends_with(" +"))
        .map(|t| t.chars().count())
        .max();
    // `\pset format wrapped` with ASCII lines: a wrapped value ends in `.` at the widest column
    // and goes on in the next line after a `.` in the left margin.
    let widths: Vec<usize> = kept
        .iter()
        .map(|(_, l)| l.ftrim_end().chars().count())
        .collect();
    let widest = widths.iter().copied().max().unwrap_or(0);
    let marked = |k: usize| {
        let t = kept[k].1.ftrim_end();
        t.ends_with('.') && kept.get(k + 1).is_some_and(|(_, n)| n.starts_with('.'))
    };
    let at_widest: Vec<usize> = (0..kept.len())
        .filter(|&k| widest > 0 && widths[k] == widest)
        .collect();
    // Every line psql wrapped is marked; a terminal's wraps are not (and only by chance end in
    // a dot), so the marks count only when all the widest lines carry them.
    let wrapped_format = !at_widest.is_empty() && at_widest.iter().all(|&k| marked(k));
    let ascii_wrap: Vec<bool> = (0..kept.len())
        .map(|k| wrapped_format && at_widest.binary_search(&k).is_ok())
        .collect();
    let mut out_lines: Vec<(usize, Cow<'_, str>)> = Vec::with_capacity(kept.len());
    let mut join_next = false;
    for (k, (n, l)) in kept.into_iter().enumerate() {
        let t = l.ftrim_end();
        let mut wrapped = false;
        let cut: Option<String> = if let Some(x) = t.strip_suffix('↵') {
            Some(x.ftrim_end().to_string())
        } else if let Some(x) = t.strip_suffix('…') {
            wrapped = true;
            Some(x.to_string())
        } else if ascii_wrap[k] {
            wrapped = true;
            Some(t[..t.len() - 1].to_string())
        } else if t.ends_with(" +")
            || t == "+"
            || (t.ends_with('+') && Some(t.chars().count()) == plus_col)
        {
            Some(t[..t.len() - 1].ftrim_end().to_string())
        } else {
            None
        };
        let s: Cow<'_, str> = match cut {
            Some(c) => Cow::Owned(c),
            None => l,
        };
        if join_next {
            let cont = s
                .strip_prefix('.')
                .unwrap_or_else(|| s.ftrim_start().trim_start_matches('…'));
            if let Some(last) = out_lines.last_mut() {
                last.1.to_mut().push_str(cont);
            }
        } else {
            out_lines.push((n, s));
        }
        join_next = wrapped;
    }

    finish(&out_lines, input, false)
}

/// Step 4 of `clean`, shared by its quick path: the common indentation removed, trailing spaces
/// trimmed, the text joined with its line map.
///
/// `input_lines`: the lines are `input`'s own, in order (each one, split at `\n`, as it is). Then,
/// as long as every line is kept as it is, nothing is copied: the text is `input` (or its start).
fn finish<'a, S: std::ops::Deref<Target = str>>(
    out_lines: &[(usize, S)],
    input: &'a str,
    input_lines: bool,
) -> Cleaned<'a> {
    // 4. Remove the indentation common to every non-blank line. In a text plan, a line that
    //    cannot start a node or property was wrapped by a terminal: its leading and trailing
    //    spaces are part of the text it continues, so it is left as it is and not counted.
    let text_mode = out_lines
        .iter()
        .map(|(_, l)| l.ftrim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| {
            !(l.starts_with('[')
                || l.starts_with('{')
                || l.starts_with('<')
                || l.starts_with("- Plan:")
                || l.starts_with("Plan:")
                || l.starts_with("-   Plan:"))
        });
    // Whether line `k` continues the previous one. Asked only where the answer matters: the
    // classification is the costly part of a line here.
    let is_cont = |k: usize| -> bool {
        text_mode
            && out_lines.get(k).is_some_and(|(_, l)| {
                let t = l.ftrim();
                !t.is_empty() && super::text::is_continuation(t)
            })
    };
    // The indentation common to the lines that are not continuations: a line indented at least
    // as deep as the least so far cannot lower it, whatever it is.
    let mut common = usize::MAX;
    for (k, (_, l)) in out_lines.iter().enumerate() {
        if l.ftrim().is_empty() {
            continue;
        }
        let lead = leading_spaces(l.as_bytes());
        if lead < common && !is_cont(k) {
            common = lead;
        }
    }
    if common == usize::MAX {
        common = 0;
    }

    let mut text = String::new();
    let mut line_map = Vec::with_capacity(out_lines.len());
    // While `copying` is false, the cleaned text so far is `input[..same]`.
    let mut copying = !input_lines;
    let mut same = 0;
    if copying {
        text.reserve(input.len());
    }
    let count = out_lines.len();
    for (k, (n, l)) in out_lines.iter().enumerate() {
        let l: &str = l;
        let s: &str = if l.ftrim().is_empty() {
            ""
        } else {
            // A continuation keeps its indentation; with none in common there is nothing to ask.
            // `common` counts ASCII spaces only, so this slice is on a char boundary.
            let body = if common == 0 || is_cont(k) {
                l
            } else {
                l.get(common..).unwrap_or(l)
            };
            // Trailing spaces are kept before a continuation (they are part of the text it
            // continues); whether the next line is one matters only when there are any.
            let trimmed = body.ftrim_end();
            if trimmed.len() != body.len() && k + 1 < count && is_cont(k + 1) {
                body
            } else {
                trimmed
            }
        };
        // `s` is part of `l`: the same length means the line is kept as it is.
        if !copying && (*n != k + 1 || s.len() != l.len()) {
            text.reserve(input.len());
            text.push_str(&input[..same]);
            copying = true;
        }
        if copying {
            text.push_str(s);
            text.push('\n');
        } else {
            same += l.len() + 1;
        }
        line_map.push(*n);
    }
    let text = if copying {
        Cow::Owned(text)
    } else if same == input.len() {
        Cow::Borrowed(input)
    } else {
        // The input's last line had no `\n`, or lines after the last kept one were dropped.
        let mut t = input[..same.min(input.len())].to_string();
        if same > input.len() {
            t.push('\n');
        }
        Cow::Owned(t)
    };
    Cleaned { text, line_map }
}

/// Line numbers from a paste (`  1 | Seq Scan …`, `1: …`, `1. …`, `1 …`): removed when every
/// non-blank line carries one and they count up by one.
fn strip_line_numbers(lines: &mut [(usize, Cow<'_, str>)]) {
    fn split(l: &str) -> Option<(u64, usize)> {
        let t = l.trim_start_matches(' ');
        let lead = l.len() - t.len();
        let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let n: u64 = t.get(..digits)?.parse().ok()?;
        let rest = t.get(digits..)?;
        let sep = if let Some(r) = rest.strip_prefix(" | ").or(rest.strip_prefix(" |")) {
            rest.len() - r.len()
        } else if let Some(r) = rest.strip_prefix(": ").or(rest.strip_prefix(". ")) {
            rest.len() - r.len()
        } else if rest.starts_with('\t') || rest.starts_with(' ') || rest.is_empty() {
            usize::from(!rest.is_empty())
        } else {
            return None;
        };
        Some((n, lead + digits + sep))
    }
    let mut expected: Option<u64> = None;
    let mut cuts = Vec::new();
    let mut count = 0;
    for (i, (_, l)) in lines.iter().enumerate() {
        if l.ftrim().is_empty() {
            continue;
        }
        let Some((n, cut)) = split(l) else { return };
        if let Some(e) = expected {
            if n != e {
                return;
            }
        }
        expected = Some(n + 1);
        cuts.push((i, cut));
        count += 1;
    }
    if count < 2 {
        return;
    }
    for (i, cut) in cuts {
        let l = &mut lines[i].1;
        let rest = l
            .get(cut..)
            .unwrap_or("")
            .trim_start_matches('\t')
            .to_string();
        *l = Cow::Owned(rest);
    }
}

/// Lines wrapped in quotes by a CSV export or a GUI (`"Limit  (cost=…)"`, `'Sort …'`), or ending
/// with a stray quote: removed when every non-blank line has them.
fn strip_quotes(lines: &mut [(usize, Cow<'_, str>)]) {
    let nonblank = || lines.iter().filter(|(_, l)| !l.ftrim().is_empty());
    if nonblank().next().is_none() {
        return;
    }
    for q in ['"', '\''] {
        let both = nonblank().all(|(_, l)| {
            let t = l.ftrim();
            t.len() >= 2 && t.starts_with(q) && t.ends_with(q)
        });
        // A stray closing quote leaves an odd number of quotes on the line (`…width=81)"`); a
        // line ending with a quoted name (`Seq Scan on "T"`) has an even number.
        let trailing = !both
            && nonblank().all(|(_, l)| l.ftrim().ends_with(q) && l.matches(q).count() % 2 == 1);
        if both || trailing {
            // A JSON document's lines often end in `"` too: never touch those.
            let jsonish = nonblank().any(|(_, l)| {
                let t = l.ftrim_start();
                t.starts_with('{') || t.starts_with('[') || t.starts_with("\"Plan\"")
            });
            if jsonish {
                return;
            }
            for (_, l) in lines.iter_mut() {
                if l.ftrim().is_empty() {
                    continue;
                }
                let inner = if both {
                    let t = l.ftrim();
                    t.get(1..t.len() - 1).unwrap_or("")
                } else {
                    let t = l.ftrim_end();
                    t.get(..t.len() - 1).unwrap_or("")
                };
                *l = Cow::Owned(if q == '"' {
                    inner.replace("\"\"", "\"")
                } else {
                    inner.to_string()
                });
            }
            return;
        }
    }
}

/// psql's expanded display (`\\x`): `-[ RECORD 1 ]---` separators and a `QUERY PLAN | ` column
/// name before each value. Applied when every non-blank line is one of those.
fn strip_expanded(lines: &mut Vec<(usize, Cow<'_, str>)>) {
    let is_sep = |t: &str| t.starts_with("-[ RECORD ") && t.ftrim_end().ends_with(['-', ']']);
    let all = lines.iter().all(|(_, l)| {
        let t = l.ftrim();
        t.is_empty() || is_sep(t) || l.starts_with("QUERY PLAN |")
    });
    if !all || !lines.iter().any(|(_, l)| l.starts_with("QUERY PLAN |")) {
        return;
    }
    lines.retain(|(_, l)| !is_sep(l.ftrim()));
    for (_, l) in lines.iter_mut() {
        if let Some(rest) = l.strip_prefix("QUERY PLAN |") {
            let rest = rest.strip_prefix(' ').unwrap_or(rest).to_string();
            *l = Cow::Owned(rest);
        }
    }
}

/// Side frames: `| … |`, `│ … │`, `║ … ║`, and DBeaver's trailing `|`. Removed when every
/// non-blank line has them.
fn strip_frames(lines: &mut [(usize, Cow<'_, str>)]) {
    let nonblank: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].1.ftrim().is_empty())
        .collect();
    if nonblank.is_empty() {
        return;
    }
    let left = nonblank
        .iter()
        .all(|&i| lines[i].1.ftrim_start().starts_with(is_vbar));
    let right = nonblank
        .iter()
        .all(|&i| lines[i].1.ftrim_end().ends_with(is_vbar));
    if !left && !right {
        return;
    }
    for &i in &nonblank {
        let l = &mut lines[i].1;
        let mut s: &str = l.ftrim_end();
        if left {
            s = s.ftrim_start();
            let mut it = s.chars();
            it.next();
            s = it.as_str();
            // psql puts one space after the left border.
            s = s.strip_prefix(' ').unwrap_or(s);
        }
        if right {
            let mut it = s.chars();
            it.next_back();
            s = it.as_str();
        }
        *l = Cow::Owned(s.ftrim_end().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick path gives what the full cleaner gives, on every plan of the corpora.
    #[test]
    fn quick_path_matches_full() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")),
            &mut files,
        );
        walk(std::path::Path::new("/work/shared/plans"), &mut files);
        let mut quick = 0;
        for f in &files {
            let Ok(s) = std::fs::read_to_string(f) else {
                continue;
            };
            let mut variants = vec![s.clone()];
            // Also a few variants: a prompt line, CRLF, a trailing `+`, header rule footer.
            variants.push(format!("   QUERY PLAN\n-----------\n{s}(3 rows)\n"));
            variants.push(s.replace('\n', "\r\n"));
            variants.push(format!("QUERY PLAN\n\n------\n{s}"));
            for v in &variants {
                if let Some(q) = clean_quick(v) {
                    quick += 1;
                    let full = clean_full(v);
                    assert_eq!(q.text, full.text, "{}", f.display());
                    assert_eq!(q.line_map, full.line_map, "{}", f.display());
                }
            }
        }
        assert!(quick > 0);
    }

    #[test]
    fn line_splitting_matches_std() {
        for s in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\r\n",
            "a\r\nb\r",
            "a\r",
            "\r",
            "\r\n",
            "a\rb\n",
            "  ->  Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n        Filter: (a = 1)\n",
            "é\n→ü\r\n\n12345678\n123456789\n1234567\n",
            "shared hit=1 read=2, temp read=3,,x,",
            ",",
        ] {
            assert_eq!(
                split_lines(s).collect::<Vec<_>>(),
                s.split('\n').collect::<Vec<_>>(),
                "{s:?}"
            );
            assert_eq!(
                lines_of(s).collect::<Vec<_>>(),
                s.lines().collect::<Vec<_>>(),
                "{s:?}"
            );
            assert_eq!(
                split_on(s, b',').collect::<Vec<_>>(),
                s.split(',').collect::<Vec<_>>(),
                "{s:?}"
            );
        }
        let hay = b"0123456789abcdef0123456789)";
        for n in 0..=hay.len() {
            for needle in [b')', b'0', b'f', b'\n', 0x80] {
                assert_eq!(
                    find_byte(&hay[..n], needle),
                    hay[..n].iter().position(|&c| c == needle),
                    "{n} {needle}"
                );
            }
        }
    }

    #[test]
    fn nothing_to_clean_borrows_the_input() {
        let plan = "Limit  (cost=0.00..0.01 rows=1 width=4)\n  ->  Seq Scan on t\n\nResult  (cost=1..2 rows=1 width=4)\n";
        let c = clean(plan);
        assert!(matches!(c.text, Cow::Borrowed(_)));
        assert_eq!(c.text, clean_full(plan).text);
        assert_eq!(c.line_map, vec![1, 2, 3, 4]);
        // Something to clean, or a last line without `\n`: a copy, as the full cleaner has it.
        for v in [
            "Limit  (cost=0.00..0.01 rows=1 width=4)\n  ->  Seq Scan on t",
            "Limit  (cost=0.00..0.01 rows=1 width=4)\n(1 row)\n",
            "Limit  (cost=0.00..0.01 rows=1 width=4)   \n  ->  Seq Scan on t\n",
            " QUERY PLAN\n----\n Limit  (cost=1..2 rows=1 width=4)\n   ->  Seq Scan on t\n",
            " Limit  (cost=1..2 rows=1 width=4)\n   ->  Seq Scan on t\n",
        ] {
            let (c, full) = (clean(v), clean_full(v));
            assert!(matches!(c.text, Cow::Owned(_)), "{v:?}");
            assert_eq!(c.text, full.text, "{v:?}");
            assert_eq!(c.line_map, full.line_map, "{v:?}");
        }
    }

    #[test]
    fn header_dashes_footer_and_indent() {
        let c = clean(
            "                QUERY PLAN\n-----------------\n Limit  (cost=0.00..0.01 rows=1 width=4)\n   ->  Seq Scan on t\n(2 rows)\n",
        );
        assert_eq!(
            c.text,
            "Limit  (cost=0.00..0.01 rows=1 width=4)\n  ->  Seq Scan on t\n"
        );
        assert_eq!(c.line_map, vec![3, 4]);
    }

    #[test]
    fn ascii_box_frame() {
        let c = clean(
            "+------------+\n|  QUERY PLAN  |\n+------------+\n| Result     |\n|   Filter: x |\n+------------+\n(1 row)\n",
        );
        assert_eq!(c.text, "Result\n  Filter: x\n");
        assert_eq!(c.line_map, vec![4, 5]);
    }

    #[test]
    fn unicode_box_frame() {
        let c = clean(
            "┌────────┐\n│ QUERY PLAN │\n├────────┤\n│ Result   │\n│   ->  Hash │\n└────────┘\n",
        );
        assert_eq!(c.text, "Result\n  ->  Hash\n");
    }

    #[test]
    fn json_plus_and_return_marks() {
        let c = clean(" [          +\n   {        +\n   }        +\n ]\n(1 row)\n");
        assert_eq!(c.text, "[\n  {\n  }\n]\n");
        let c = clean("║ [   ↵║\n║ ]    ║\n");
        assert_eq!(c.text, "[\n]\n");
    }

    #[test]
    fn localized_footer_and_wrapped_header() {
        let c = clean("   QUERY PLA\nN   \n-----\n-----\n Result\n(3 lignes)\n");
        assert_eq!(c.text, "Result\n");
        assert_eq!(c.line_map, vec![5]);
    }

    #[test]
    fn quotes_from_csv() {
        let c = clean("\"Limit  (cost=1..2 rows=1 width=4)\"\n\"  ->  Seq Scan on \"\"T\"\"\"\n");
        assert_eq!(
            c.text,
            "Limit  (cost=1..2 rows=1 width=4)\n  ->  Seq Scan on \"T\"\n"
        );
        let c = clean("'Sort'\n'  Filter: (a = 'x'::text)'\n");
        assert_eq!(c.text, "Sort\n  Filter: (a = 'x'::text)\n");
    }

    #[test]
    fn quoted_names_are_not_csv_quotes() {
        let c = clean("Seq Scan on \"T\"\n");
        assert_eq!(c.text, "Seq Scan on \"T\"\n");
        let c = clean("Limit\"\n  ->  Seq Scan on t\"\n");
        assert_eq!(c.text, "Limit\n  ->  Seq Scan on t\n");
    }

    #[test]
    fn line_numbers() {
        let c = clean("1 | Limit\n2 |   ->  Seq Scan on t\n3 |         Filter: (a = 1)\n");
        assert_eq!(
            c.text,
            "Limit\n  ->  Seq Scan on t\n        Filter: (a = 1)\n"
        );
        // Not consecutive: left alone.
        let c = clean("1 a\n3 b\n");
        assert_eq!(c.text, "1 a\n3 b\n");
    }

    #[test]
    fn expanded_display() {
        let c = clean("-[ RECORD 1 ]-----------------\nQUERY PLAN | Limit\n-[ RECORD 2 ]-----------------\nQUERY PLAN |   ->  Seq Scan on t\n");
        assert_eq!(c.text, "Limit\n  ->  Seq Scan on t\n");
        assert_eq!(c.line_map, vec![2, 4]);
    }

    #[test]
    fn ascii_wrapped_format_marks() {
        let c = clean(
            "        QUERY PLAN\n--------------------------\n Seq Scan on t  (cost=0.00..\n..1.00 rows=1 width=4)\n   Filter: (a = 1)\n",
        );
        assert_eq!(
            c.text,
            "Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n  Filter: (a = 1)\n"
        );
        // A line that merely ends with a dot is left alone.
        let c = clean("Result\n  Filter: (a = 'x.')\n");
        assert_eq!(c.text, "Result\n  Filter: (a = 'x.')\n");
    }

    #[test]
    fn dbeaver_trailing_bar() {
        let c = clean("QUERY PLAN   |\n-------------+\nResult       |\n  Filter: x  |\n");
        assert_eq!(c.text, "Result\n  Filter: x\n");
    }

    #[test]
    fn wrapped_format_marks() {
        let c = clean("│ Seq Scan on t  (cost=0.00..1…│\n│….00 rows=1 width=4)       │\n");
        assert_eq!(c.text, "Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n");
    }
}
