//! The one lexer behind `split` and `classify`.
//!
//! It knows PostgreSQL's lexical rules only as far as finding where tokens start and end needs:
//! quotes, dollar quotes, comments, and psql's backslash commands and `COPY … FROM STDIN` data. It
//! does not tell keywords from identifiers; callers compare words themselves.
//!
//! Assumed server settings: `standard_conforming_strings = on` (the default since 9.1), so a
//! backslash in a plain `'…'` string is an ordinary character. Only `E'…'` strings use backslash
//! escapes.
//!
//! Positions: `line` and `col` are 1-based; `col` counts characters, not bytes. `\n`, `\r\n` and a
//! lone `\r` each end a line. A leading byte-order mark is skipped and takes no column.

use super::LocatedError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An unquoted identifier or keyword (may contain `$` after the first character).
    Word,
    /// `"…"` or `U&"…"`.
    QuotedIdent,
    /// `'…'`, `E'…'`, `U&'…'`, `B'…'`, `X'…'`, `N'…'`.
    String,
    /// `$$…$$` or `$tag$…$tag$`.
    DollarString,
    Number,
    /// `$1`, `$2`, …
    Param,
    /// Any other single character: `( ) ; , .` and operator characters.
    Punct,
    LineComment,
    BlockComment,
    /// One psql backslash command with its arguments, up to the end of the line, the next
    /// unquoted backslash, or a `\\` separator (which is consumed, and SQL continues after it).
    Meta,
    /// The lines after `COPY … FROM STDIN` (or `\copy … from stdin`), through the `\.` line.
    /// `terminated` is false when the input ended first.
    CopyData {
        terminated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    /// Byte range in the source text.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
    /// The line the token's last character is on.
    pub end_line: usize,
    /// Nothing but white space comes before this token on its line.
    pub first_on_line: bool,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// An unquoted word equal to `kw`, ignoring ASCII case.
    pub fn is_word(&self, src: &str, kw: &str) -> bool {
        self.kind == Kind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }

    pub fn is_punct(&self, src: &str, c: u8) -> bool {
        self.kind == Kind::Punct && src.as_bytes()[self.start] == c
    }

    pub fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
    line_start: bool,
    /// Set by the caller after a `COPY … FROM STDIN`: the next line break starts a data block.
    pub copy_pending: bool,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// Characters allowed in a dollar-quote tag: an identifier without `$`.
fn is_tag_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        let pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Lexer {
            src,
            b: src.as_bytes(),
            pos,
            line: 1,
            col: 1,
            line_start: true,
            copy_pending: false,
        }
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn bump(&mut self) {
        let c = self.b[self.pos];
        self.pos += 1;
        let newline = c == b'\n' || (c == b'\r' && self.peek(0) != Some(b'\n'));
        if newline {
            self.line += 1;
            self.col = 1;
            self.line_start = true;
        } else if c & 0xC0 != 0x80 && c != b'\r' {
            self.col += 1;
        }
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.b[self.pos..].starts_with(s)
    }

    fn error(&mut self, line: usize, col: usize, what: &str) -> LocatedError {
        // Nothing after an unterminated construct can be read reliably: stop here.
        self.pos = self.b.len();
        LocatedError {
            line,
            column: col,
            message: format!("{what} opened at line {line} column {col} is never closed"),
        }
    }

    /// Skip to just past the closing `quote`; a doubled quote is an escaped one, and with
    /// `backslash` a backslash escapes the next character. Returns false at end of input.
    fn quoted(&mut self, quote: u8, backslash: bool) -> bool {
        while let Some(c) = self.peek(0) {
            self.bump();
            if c == quote {
                if self.peek(0) == Some(quote) {
                    self.bump();
                } else {
                    return true;
                }
            } else if backslash && c == b'\\' && self.pos < self.b.len() {
                self.bump();
            }
        }
        false
    }

    /// At `$`: the length of a dollar-quote opener (`$$` or `$tag$`) here, if there is one.
    fn dollar_tag_len(&self) -> Option<usize> {
        let rest = &self.b[self.pos + 1..];
        if rest.first().is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let n = rest.iter().take_while(|&&c| is_tag_cont(c)).count();
        (rest.get(n) == Some(&b'$')).then_some(n + 2)
    }

    /// The lines of a COPY data block, from the current position (the start of a line) through
    /// the line holding only `\.`.
    fn copy_data(&mut self) -> Kind {
        while self.pos < self.b.len() {
            let rest = &self.b[self.pos..];
            let eol = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            let content = rest[..eol].strip_suffix(b"\r").unwrap_or(&rest[..eol]);
            let done = content == b"\\.";
            self.bump_n(eol.min(rest.len()));
            if self.pos < self.b.len() {
                self.bump(); // the '\n'
            }
            if done {
                return Kind::CopyData { terminated: true };
            }
        }
        Kind::CopyData { terminated: false }
    }

    /// A psql backslash command at `\`. See [`Kind::Meta`].
    fn meta(&mut self) {
        self.bump(); // '\'
        let name_start = self.pos;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_whitespace() || c == b'\\' {
                break;
            }
            self.bump();
        }
        let name = &self.src[name_start..self.pos];
        // These take the rest of the line as one argument, backslashes included.
        let whole_line = matches!(name, "copy" | "!");
        while let Some(c) = self.peek(0) {
            match c {
                b'\n' | b'\r' => break,
                b'\\' if !whole_line => break,
                b'\'' => {
                    self.bump();
                    if !self.quoted(b'\'', true) {
                        break;
                    }
                }
                b'"' | b'`' => {
                    self.bump();
                    if !self.quoted(c, false) {
                        break;
                    }
                }
                _ => self.bump(),
            }
        }
    }

    fn skip_space(&mut self) -> Option<Token> {
        while let Some(c) = self.peek(0) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c') {
                break;
            }
            let at_break = c == b'\n' || (c == b'\r' && self.peek(1) != Some(b'\n'));
            self.bump();
            if at_break && self.copy_pending {
                self.copy_pending = false;
                let (start, at) = (self.pos, (self.line, self.col, true));
                let kind = self.copy_data();
                return Some(self.token(kind, start, at));
            }
        }
        None
    }

    /// `first_on_line` is what `line_start` was when the token began.
    fn token(
        &mut self,
        kind: Kind,
        start: usize,
        (line, col, first_on_line): (usize, usize, bool),
    ) -> Token {
        // A token ending in a line break (a COPY block) leaves the next line fresh.
        self.line_start = self.pos > start && self.b[self.pos - 1] == b'\n';
        let end_line = if self.line_start {
            self.line - 1
        } else {
            self.line
        };
        Token {
            kind,
            start,
            end: self.pos,
            line,
            col,
            end_line,
            first_on_line,
        }
    }

    /// The single character at the current position as a `Punct` token.
    fn lex_punct(&mut self, (_, _, first): (usize, usize, bool)) -> Token {
        let (start, at) = (self.pos, (self.line, self.col, first));
        self.bump();
        self.token(Kind::Punct, start, at)
    }

    fn next_token(&mut self) -> Option<Result<Token, LocatedError>> {
        if let Some(t) = self.skip_space() {
            return Some(Ok(t));
        }
        if self.copy_pending && self.pos >= self.b.len() {
            self.copy_pending = false;
        }
        let c = self.peek(0)?;
        let (start, line, col) = (self.pos, self.line, self.col);
        let at = (line, col, self.line_start);
        let lower = c.to_ascii_lowercase();
        let kind = if self.starts_with(b"--") {
            while self.peek(0).is_some_and(|c| c != b'\n' && c != b'\r') {
                self.bump();
            }
            Kind::LineComment
        } else if self.starts_with(b"/*") {
            let mut depth = 0usize;
            loop {
                if self.starts_with(b"/*") {
                    depth += 1;
                    self.bump_n(2);
                } else if self.starts_with(b"*/") {
                    depth -= 1;
                    self.bump_n(2);
                    if depth == 0 {
                        break Kind::BlockComment;
                    }
                } else if self.pos < self.b.len() {
                    self.bump();
                } else {
                    return Some(Err(self.error(line, col, "comment /*")));
                }
            }
        } else if c == b'\'' || (matches!(lower, b'b' | b'x' | b'n') && self.peek(1) == Some(b'\''))
        {
            self.bump_n(if c == b'\'' { 1 } else { 2 });
            if !self.quoted(b'\'', false) {
                return Some(Err(self.error(line, col, "string '")));
            }
            Kind::String
        } else if lower == b'e' && self.peek(1) == Some(b'\'') {
            self.bump_n(2);
            if !self.quoted(b'\'', true) {
                return Some(Err(self.error(line, col, "string E'")));
            }
            Kind::String
        } else if lower == b'u'
            && self.peek(1) == Some(b'&')
            && matches!(self.peek(2), Some(b'\'' | b'"'))
        {
            let q = self.peek(2).unwrap_or(b'\'');
            self.bump_n(3);
            if !self.quoted(q, false) {
                let what = if q == b'\'' {
                    "string U&'"
                } else {
                    "identifier U&\""
                };
                return Some(Err(self.error(line, col, what)));
            }
            if q == b'\'' {
                Kind::String
            } else {
                Kind::QuotedIdent
            }
        } else if c == b'"' {
            self.bump();
            if !self.quoted(b'"', false) {
                return Some(Err(self.error(line, col, "identifier \"")));
            }
            Kind::QuotedIdent
        } else if c == b'$' {
            if let Some(n) = self.dollar_tag_len() {
                let tag = &self.b[self.pos..self.pos + n];
                let close = self.b[self.pos + n..].windows(n).position(|w| w == tag);
                match close {
                    Some(i) => self.bump_n(n + i + n),
                    None => {
                        let tag = String::from_utf8_lossy(tag).into_owned();
                        return Some(Err(self.error(line, col, &format!("dollar quote {tag}"))));
                    }
                }
                Kind::DollarString
            } else if self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
                Kind::Param
            } else {
                self.bump();
                Kind::Punct
            }
        } else if is_ident_start(c) {
            while self.peek(0).is_some_and(is_ident_cont) {
                self.bump();
            }
            Kind::Word
        } else if c.is_ascii_digit() {
            while self
                .peek(0)
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            {
                self.bump();
            }
            Kind::Number
        } else if c == b'\\' && self.peek(1) == Some(b';') {
            // psql's `\;`: a `;` that psql does not act on itself. Its statements are sent
            // together, but they are separate statements all the same.
            self.bump();
            return Some(Ok(self.lex_punct(at)));
        } else if c == b'\\' && self.peek(1) == Some(b'\\') {
            // A `\\` separator with no backslash command before it: SQL goes on.
            self.bump_n(2);
            return self.next_token();
        } else if c == b'\\' {
            self.meta();
            if self.starts_with(b"\\\\") {
                // `\\` ends the backslash command (and belongs to it); SQL continues after it.
                self.bump_n(2);
            }
            Kind::Meta
        } else {
            self.bump();
            Kind::Punct
        };
        Some(Ok(self.token(kind, start, at)))
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<Token, LocatedError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_token()
    }
}

/// Tracks what keeps a `;` from ending a statement: open parentheses (psql does not split inside
/// them either) and SQL-standard function bodies, `BEGIN ATOMIC … END`, in which `CASE … END`
/// may nest. `BEGIN ATOMIC` counts only in a statement that starts with CREATE, so a column
/// `begin` with an alias `atomic` elsewhere cannot swallow the rest of a file.
#[derive(Debug, Default)]
pub(crate) struct Nesting {
    /// None before the first token; then whether that token was CREATE.
    create: Option<bool>,
    /// Where each open `(` is.
    parens: Vec<(usize, usize)>,
    /// Where the open `BEGIN ATOMIC` began.
    atomic: Option<(usize, usize)>,
    case_depth: usize,
    prev_begin: Option<(usize, usize)>,
}

impl Nesting {
    /// Feed one significant (non-comment) token.
    pub fn feed(&mut self, tok: &Token, src: &str) {
        let prev_begin = self.prev_begin.take();
        let create = *self
            .create
            .get_or_insert_with(|| tok.is_word(src, "create"));
        match tok.kind {
            Kind::Punct if tok.is_punct(src, b'(') => self.parens.push((tok.line, tok.col)),
            Kind::Punct if tok.is_punct(src, b')') => {
                self.parens.pop();
            }
            Kind::Word if self.atomic.is_some() => {
                if tok.is_word(src, "case") {
                    self.case_depth += 1;
                } else if tok.is_word(src, "end") {
                    if self.case_depth > 0 {
                        self.case_depth -= 1;
                    } else {
                        self.atomic = None;
                    }
                }
            }
            Kind::Word => {
                if prev_begin.is_some() && tok.is_word(src, "atomic") {
                    self.atomic = prev_begin;
                    self.case_depth = 0;
                } else if create && tok.is_word(src, "begin") {
                    self.prev_begin = Some((tok.line, tok.col));
                }
            }
            _ => {}
        }
    }

    /// A `;` here ends the statement.
    pub fn at_top(&self) -> bool {
        self.parens.is_empty() && self.atomic.is_none()
    }

    pub fn in_atomic(&self) -> bool {
        self.atomic.is_some()
    }

    /// The earliest still-open construct: its name and position.
    pub fn first_open(&self) -> Option<(&'static str, (usize, usize))> {
        let paren = self.parens.first().map(|&p| ("'('", p));
        let atomic = self.atomic.map(|p| ("BEGIN ATOMIC", p));
        match (paren, atomic) {
            (Some(p), Some(a)) => Some(if p.1 < a.1 { p } else { a }),
            (p, a) => p.or(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        Lexer::new(src)
            .map(|t| t.unwrap())
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn token_kinds() {
        use Kind::*;
        assert_eq!(
            kinds("SELECT a$b, $1, $t$x$t$, e'\\'', U&\"i\", x'0F', 1.5e3 -- c\n/* d */;"),
            vec![
                (Word, "SELECT"),
                (Word, "a$b"),
                (Punct, ","),
                (Param, "$1"),
                (Punct, ","),
                (DollarString, "$t$x$t$"),
                (Punct, ","),
                (String, "e'\\''"),
                (Punct, ","),
                (QuotedIdent, "U&\"i\""),
                (Punct, ","),
                (String, "x'0F'"),
                (Punct, ","),
                (Number, "1.5e3"),
                (LineComment, "-- c"),
                (BlockComment, "/* d */"),
                (Punct, ";"),
            ]
        );
    }

    #[test]
    fn meta_commands_split_at_backslashes_except_whole_line_ones() {
        use Kind::*;
        assert_eq!(
            kinds("\\bind 'a\\b' 2 \\g\n\\copy t to 'x\\y'\n\\! echo a\\b"),
            vec![
                (Meta, "\\bind 'a\\b' 2 "),
                (Meta, "\\g"),
                (Meta, "\\copy t to 'x\\y'"),
                (Meta, "\\! echo a\\b")
            ]
        );
    }

    #[test]
    fn positions_bom_crlf_and_first_on_line() {
        let src = "\u{feff}a\r\n  b c\r/* x\n */ d";
        let toks: Vec<_> = Lexer::new(src).map(|t| t.unwrap()).collect();
        let pos: Vec<_> = toks
            .iter()
            .map(|t| (t.text(src), t.line, t.col, t.end_line, t.first_on_line))
            .collect();
        assert_eq!(
            pos,
            vec![
                ("a", 1, 1, 1, true),
                ("b", 2, 3, 2, true),
                ("c", 2, 5, 2, false),
                ("/* x\n */", 3, 1, 4, true),
                ("d", 4, 5, 4, false)
            ]
        );
    }

    #[test]
    fn copy_data_block() {
        let src = "x;\n1\n\\.\ny";
        let mut lx = Lexer::new(src);
        assert_eq!(lx.next().unwrap().unwrap().text(src), "x");
        assert_eq!(lx.next().unwrap().unwrap().text(src), ";");
        lx.copy_pending = true;
        let data = lx.next().unwrap().unwrap();
        assert_eq!(
            (data.kind, data.text(src), data.line, data.end_line),
            (Kind::CopyData { terminated: true }, "1\n\\.\n", 2, 3)
        );
        let y = lx.next().unwrap().unwrap();
        assert_eq!((y.text(src), y.line, y.first_on_line), ("y", 4, true));
    }

    #[test]
    fn nesting_tracks_parens_and_atomic_bodies() {
        let src = "CREATE f() BEGIN ATOMIC (CASE x END); END";
        let mut n = Nesting::default();
        let mut tops = Vec::new();
        for t in Lexer::new(src).map(|t| t.unwrap()) {
            n.feed(&t, src);
            tops.push(n.at_top());
        }
        // Open inside `()`, and from ATOMIC (token 5) to the final END.
        assert_eq!(
            tops,
            vec![
                true, true, false, true, true, false, false, false, false, false, false, false,
                true
            ]
        );
    }
}
