//! `.sql` text → statements, the way psql would send them.
//!
//! A statement ends at a `;` outside quotes, comments, parentheses and `BEGIN ATOMIC … END`
//! bodies, at a psql command that sends the query buffer (`\g`, `\gx`, `\gset`, `\gexec`,
//! `\gdesc`, `\watch`, `\crosstabview`, `\parse`, `\sendpipeline`), or at the end of the input.
//! Empty statements (`;;`, or a `;` after only comments) are dropped without a note, as psql does.
//!
//! Not statements, reported in `skipped`: psql backslash commands (`\i` and `\ir` are not
//! followed: the statements in the included file are not read), the data block after
//! `COPY … FROM STDIN` or `\copy … from stdin` (through the `\.` line), and `pgdiag:` comments
//! that are malformed or not directly above a statement. `\r` / `\reset` throw away the statement
//! being read, as in psql. psql's `\if` / `\elif` / `\else` / `\endif` are not evaluated: every
//! branch is read.
//!
//! Errors (`errors`, with the line and column where the construct opened): an unterminated
//! quote, quoted identifier, dollar quote or block comment (reading stops there), a `(` or
//! `BEGIN ATOMIC` still open at the end of the input (the statement is not returned), and a COPY
//! data block without its `\.` line.

use super::lex::{Kind, Lexer, Nesting, Token};
use super::{LocatedError, Skipped, SplitResult, Statement, Suppression};

/// Split `text` (the contents of `source_name`) into statements.
pub fn split(source_name: &str, text: &str) -> SplitResult {
    let mut s = Splitter {
        src: text,
        file: source_name,
        out: SplitResult::default(),
        cur: Vec::new(),
        cur_suppressions: Vec::new(),
        cur_holes: Vec::new(),
        nest: Nesting::default(),
        run: CommentRun::default(),
    };
    let mut lx = Lexer::new(text);
    while let Some(next) = lx.next() {
        let tok = match next {
            Ok(tok) => tok,
            Err(e) => {
                s.out.errors.push(e);
                return s.out;
            }
        };
        match tok.kind {
            Kind::LineComment | Kind::BlockComment => s.comment(&tok),
            Kind::Meta => s.meta(&tok, &mut lx),
            Kind::CopyData { terminated } => s.copy_data(&tok, terminated),
            Kind::Punct if tok.is_punct(text, b';') && s.nest.at_top() => s.finish(&mut lx),
            _ => {
                if s.cur.is_empty() {
                    s.start_statement(&tok);
                }
                s.nest.feed(&tok, text);
                s.cur.push(tok);
            }
        }
    }
    match (s.cur.first(), s.nest.first_open()) {
        (Some(first), Some((what, (line, column)))) => {
            let message = format!(
                "{what} at line {line} column {column} is never closed, so the statement \
                 starting at line {} column {} was not read",
                first.line, first.col
            );
            s.out.errors.push(LocatedError {
                line,
                column,
                message,
            });
        }
        _ => s.finish(&mut lx),
    }
    s.flush_run();
    s.out
}

struct Splitter<'a> {
    src: &'a str,
    file: &'a str,
    out: SplitResult,
    /// Significant tokens of the statement being read.
    cur: Vec<Token>,
    cur_suppressions: Vec<Suppression>,
    /// Byte ranges of backslash commands inside the statement being read; psql leaves them out
    /// of the query it sends, and so does `Statement::sql`.
    cur_holes: Vec<(usize, usize)>,
    nest: Nesting,
    run: CommentRun,
}

/// Comments each starting a line, on consecutive lines, before any token of a statement.
#[derive(Default)]
struct CommentRun {
    active: bool,
    end_line: usize,
    suppressions: Vec<Suppression>,
}

/// psql commands that send the query buffer, ending the statement before them.
const SENDS_BUFFER: &[&str] = &[
    "g",
    "gx",
    "gset",
    "gexec",
    "gdesc",
    "watch",
    "crosstabview",
    "parse",
    "sendpipeline",
];

impl Splitter<'_> {
    fn start_statement(&mut self, tok: &Token) {
        if self.run.active && tok.line <= self.run.end_line + 1 {
            self.cur_suppressions = std::mem::take(&mut self.run.suppressions);
        }
        self.flush_run();
    }

    fn finish(&mut self, lx: &mut Lexer) {
        self.nest = Nesting::default();
        let toks = std::mem::take(&mut self.cur);
        let suppressions = std::mem::take(&mut self.cur_suppressions);
        let holes = std::mem::take(&mut self.cur_holes);
        let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
            self.flush_run();
            return;
        };
        if is_copy_from_stdin(&toks, self.src) {
            lx.copy_pending = true;
        }
        let mut sql = String::new();
        let mut from = first.start;
        for (start, end) in holes.into_iter().filter(|&(_, end)| end <= last.end) {
            sql.push_str(&self.src[from..start]);
            from = end;
        }
        sql.push_str(&self.src[from..last.end]);
        self.out.statements.push(Statement {
            index: self.out.statements.len() + 1,
            file: self.file.to_string(),
            line: first.line,
            column: first.col,
            sql,
            suppressions,
        });
    }

    fn comment(&mut self, tok: &Token) {
        let mut suppression = None;
        if tok.kind == Kind::LineComment {
            match parse_directive(tok.text(self.src), tok.line) {
                Some(Directive::File(s)) => self.out.ignore_file.push(s),
                Some(Directive::Statement(s)) => suppression = Some(s),
                Some(Directive::Malformed(what)) => {
                    self.out.skipped.push(Skipped {
                        line: tok.line,
                        what,
                    });
                }
                None => {}
            }
        }
        if !self.cur.is_empty() {
            // Inside a statement: applies to nothing.
            self.unattached(suppression);
            return;
        }
        let continues = tok.first_on_line && self.run.active && tok.line <= self.run.end_line + 1;
        if !continues {
            self.flush_run();
            self.run.active = tok.first_on_line;
        }
        if self.run.active {
            self.run.end_line = tok.end_line;
            self.run.suppressions.extend(suppression);
        } else {
            self.unattached(suppression);
        }
    }

    fn unattached(&mut self, suppression: Option<Suppression>) {
        if let Some(s) = suppression {
            self.out.skipped.push(Skipped {
                line: s.line,
                what: "`-- pgdiag: ignore` comment that is not directly above a statement".into(),
            });
        }
    }

    fn flush_run(&mut self) {
        for s in std::mem::take(&mut self.run.suppressions) {
            self.unattached(Some(s));
        }
        self.run.active = false;
    }

    fn meta(&mut self, tok: &Token, lx: &mut Lexer) {
        let raw = tok.text(self.src);
        let text = raw.strip_suffix("\\\\").unwrap_or(raw).trim_end();
        let body = &text[1..];
        let (name, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        self.out.skipped.push(Skipped {
            line: tok.line,
            what: text.to_string(),
        });
        self.flush_run();
        if SENDS_BUFFER.contains(&name) {
            self.finish(lx);
        } else if name == "r" || name == "reset" {
            if let Some(first) = self.cur.first() {
                let what = format!("statement at line {} (discarded by \\{name})", first.line);
                self.out.skipped.push(Skipped {
                    line: first.line,
                    what,
                });
            }
            self.cur.clear();
            self.cur_suppressions.clear();
            self.cur_holes.clear();
            self.nest = Nesting::default();
        } else {
            if !self.cur.is_empty() {
                self.cur_holes.push((tok.start, tok.end));
            }
            if name == "copy" {
                let words: Vec<&str> = args.split_whitespace().collect();
                lx.copy_pending |= words.windows(2).any(|w| {
                    w[0].eq_ignore_ascii_case("from") && w[1].eq_ignore_ascii_case("stdin")
                });
            }
        }
    }

    fn copy_data(&mut self, tok: &Token, terminated: bool) {
        self.flush_run();
        let lines = tok.text(self.src).lines().count() - usize::from(terminated);
        let what = format!(
            "COPY data ({lines} line{})",
            if lines == 1 { "" } else { "s" }
        );
        self.out.skipped.push(Skipped {
            line: tok.line,
            what,
        });
        if !terminated {
            self.out.errors.push(LocatedError {
                line: tok.line,
                column: 1,
                message: format!(
                    "COPY data starting at line {} has no `\\.` line to end it: the rest of the input was read as data",
                    tok.line
                ),
            });
        }
    }
}

/// `COPY … FROM STDIN`: the FROM STDIN outside parentheses (not in `COPY (query) TO …`).
fn is_copy_from_stdin(toks: &[Token], src: &str) -> bool {
    if !toks.first().is_some_and(|t| t.is_word(src, "copy")) {
        return false;
    }
    let mut depth = 0usize;
    for pair in toks.windows(2) {
        if pair[0].is_punct(src, b'(') {
            depth += 1;
        } else if pair[0].is_punct(src, b')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && pair[0].is_word(src, "from") && pair[1].is_word(src, "stdin") {
            return true;
        }
    }
    false
}

enum Directive {
    Statement(Suppression),
    File(Suppression),
    Malformed(String),
}

/// `-- pgdiag: ignore <rule>[, <rule>…] [reason]` or `-- pgdiag: ignore-file [reason]`.
fn parse_directive(comment: &str, line: usize) -> Option<Directive> {
    let body = comment.strip_prefix("--")?.trim();
    let rest = body.strip_prefix("pgdiag:")?.trim_start();
    let (verb, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(match verb {
        "ignore-file" => Directive::File(Suppression {
            line,
            rules: Vec::new(),
            reason: reason(tail),
        }),
        "ignore" => {
            let (rules, tail) = rule_list(tail);
            if rules.is_empty() {
                Directive::Malformed(format!("`{body}`: `ignore` names no rule"))
            } else {
                Directive::Statement(Suppression {
                    line,
                    rules,
                    reason: reason(tail),
                })
            }
        }
        _ => Directive::Malformed(format!("`{body}`: unknown pgdiag directive `{verb}`")),
    })
}

/// Leading `A[, B…]` rule names; returns them and what follows.
fn rule_list(mut s: &str) -> (Vec<String>, &str) {
    let mut rules = Vec::new();
    loop {
        s = s.trim_start();
        // A rule is an ID or a kebab-case name: starts with a letter or digit.
        let n = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(s.len());
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return (rules, s);
        }
        rules.push(s[..n].to_string());
        let after = s[n..].trim_start();
        match after.strip_prefix(',') {
            Some(more) => s = more,
            None => return (rules, after),
        }
    }
}

fn reason(s: &str) -> Option<String> {
    let r = s
        .trim_start_matches(|c: char| c == ':' || c == '-' || c == '—' || c.is_whitespace())
        .trim_end();
    (!r.is_empty()).then(|| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(c: &str) -> Option<(Vec<String>, Option<String>)> {
        match parse_directive(c, 1) {
            Some(Directive::Statement(s)) => Some((s.rules, s.reason)),
            _ => None,
        }
    }

    #[test]
    fn directives() {
        assert_eq!(
            statement("--pgdiag: ignore P001"),
            Some((vec!["P001".into()], None))
        );
        assert_eq!(
            statement("-- pgdiag: ignore P001 ,work-mem_spill: too small to matter "),
            Some((
                vec!["P001".into(), "work-mem_spill".into()],
                Some("too small to matter".into())
            ))
        );
        assert!(
            matches!(parse_directive("-- pgdiag: ignore-file", 3), Some(Directive::File(Suppression { line: 3, ref rules, reason: None })) if rules.is_empty())
        );
        assert!(matches!(
            parse_directive("-- pgdiag: ignore -- why", 1),
            Some(Directive::Malformed(_))
        ));
        assert!(matches!(
            parse_directive("-- pgdiag:", 1),
            Some(Directive::Malformed(_))
        ));
        assert!(parse_directive("-- pgdiagnose: ignore P001", 1).is_none());
        assert!(parse_directive("-- note: pgdiag: ignore P001", 1).is_none());
    }
}
