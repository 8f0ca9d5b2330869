//! Undo what psql (and copy-paste) adds around a plan: the `QUERY PLAN` header, the dashes, the
//! `(N rows)` footer, `+` continuation marks, frames, line numbers.

/// Plan text with psql's decorations removed, remembering where each line came from.
#[derive(Debug, Clone, Default)]
pub struct Cleaned {
    pub text: String,
    /// `line_map[i]` is the 1-based line in the original input of cleaned line `i + 1`.
    pub line_map: Vec<usize>,
}

impl Cleaned {
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

/// Remove psql decorations. (Minimal first version; see the text-parser work.)
pub fn clean(input: &str) -> Cleaned {
    let mut out = Cleaned::default();
    for (i, raw) in input.lines().enumerate() {
        let t = raw.trim_end();
        let trimmed = t.trim();
        if trimmed == "QUERY PLAN"
            || (!trimmed.is_empty() && trimmed.chars().all(|c| c == '-' || c == '+'))
        {
            continue;
        }
        if trimmed.starts_with('(') && (trimmed.ends_with(" rows)") || trimmed.ends_with(" row)")) {
            continue;
        }
        let t = t.strip_suffix('+').map(str::trim_end).unwrap_or(t);
        out.text.push_str(t);
        out.text.push('\n');
        out.line_map.push(i + 1);
    }
    out
}
