//! A JSON reader tuned for EXPLAIN output, behind the same seeds as serde_json (`json.rs`).
//!
//! `EXPLAIN (FORMAT JSON)` of a big plan is mostly indentation and short keys: in the 110 MB
//! benchmark plan 56 % of the bytes are spaces and nearly every line is `"Key": number`.
//! serde_json steps through whitespace a byte at a time and hands keys over through its generic
//! paths; this reader skips eight spaces per step, scans strings eight bytes per step, borrows
//! every string that has no escape, and reads the short decimals EXPLAIN prints with one integer
//! pass. It implements `serde::Deserializer`, so the visitors in `json.rs` — the one place that
//! maps a key to a model field — serve both readers unchanged.
//!
//! It is only ever an accelerator: it accepts the same JSON serde_json accepts and yields the same
//! values (integers as `u64`/`i64` and floats correctly rounded, like serde_json with
//! `float_roundtrip`). When it meets anything it does not expect — invalid JSON, an error raised by
//! a visitor, trailing text — it gives up without a message, and the caller reads the text again
//! with serde_json, which produces the located error the user sees. `tests/fuzz_parsers.rs` checks
//! that both readers build the same plans on every input where this one succeeds.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::decimal::exact;
use super::json_split::ReadAhead;
use super::psql::{bytes_below, bytes_equal, leading_spaces};

/// Read `text` as exactly one JSON document through `seed`. `None` when the text is not one
/// well-formed document or a visitor refused it: the caller then asks serde_json, for the error.
/// `ahead` holds the subtrees another thread reads from a later point on (`json_split`).
pub(super) fn read_whole<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
    ahead: ReadAhead,
) -> Option<S::Value> {
    let mut reader = Reader::new(text, ahead);
    let value = seed.deserialize(&mut reader).ok()?;
    reader.skip_whitespace();
    (reader.pos == reader.bytes.len()).then_some(value)
}

/// The reader gave up; serde_json will say why.
#[derive(Debug)]
pub(super) struct GaveUp;

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read by the fast JSON reader")
    }
}

impl std::error::Error for GaveUp {}

impl de::Error for GaveUp {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        GaveUp
    }
}

type Result<T> = std::result::Result<T, GaveUp>;

pub(super) struct Reader<'de> {
    bytes: &'de [u8],
    /// The same bytes as `str`, so strings without escapes are borrowed as they are.
    text: &'de str,
    pub(super) pos: usize,
    /// Node subtrees read ahead by another thread, offered where they start.
    ahead: ReadAhead,
}

impl<'de> Reader<'de> {
    pub(super) fn new(text: &'de str, ahead: ReadAhead) -> Reader<'de> {
        Reader {
            bytes: text.as_bytes(),
            text,
            pos: 0,
            ahead,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn word_at(&self, i: usize) -> Option<u64> {
        let chunk = self.bytes.get(i..i + 8)?;
        Some(u64::from_le_bytes(chunk.try_into().ok()?))
    }

    /// Skip JSON whitespace. Indentation comes in long runs of spaces: eight at a time.
    #[inline]
    fn skip_whitespace(&mut self) {
        let mut i = self.pos;
        loop {
            i += leading_spaces(&self.bytes[i..]);
            match self.bytes.get(i) {
                Some(b'\n' | b'\r' | b'\t') => i += 1,
                _ => break,
            }
        }
        self.pos = i;
    }

    #[inline]
    pub(super) fn peek_after_whitespace(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.peek()
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Result<()> {
        if self.peek_after_whitespace() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(GaveUp)
        }
    }

    fn expect_literal(&mut self, literal: &[u8]) -> Result<()> {
        if self.bytes[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(GaveUp)
        }
    }

    /// Position of the first `"`, `\` or control character at or after `i` (or the end).
    #[inline]
    fn string_stop(&self, mut i: usize) -> usize {
        while let Some(word) = self.word_at(i) {
            let stops =
                bytes_equal(word, b'"') | bytes_equal(word, b'\\') | bytes_below(word, 0x20);
            if stops != 0 {
                return i + (stops.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while let Some(&b) = self.bytes.get(i) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                return i;
            }
            i += 1;
        }
        i
    }

    /// Read the string whose opening quote is at `self.pos`.
    #[inline]
    fn string(&mut self) -> Result<Text<'de>> {
        let start = self.pos + 1;
        let stop = self.string_stop(start);
        match self.bytes.get(stop) {
            Some(b'"') => {
                self.pos = stop + 1;
                // Both ends are ASCII quotes, so the slice is on character boundaries.
                Ok(Text::Borrowed(&self.text[start..stop]))
            }
            Some(b'\\') => self.string_with_escapes(start, stop).map(Text::Owned),
            _ => Err(GaveUp),
        }
    }

    /// The slow path: a string with escapes, unescaped into a new `String`.
    fn string_with_escapes(&mut self, start: usize, first_stop: usize) -> Result<String> {
        let mut out = String::with_capacity(first_stop - start + 16);
        let mut from = start;
        let mut stop = first_stop;
        loop {
            out.push_str(&self.text[from..stop]);
            match self.bytes.get(stop) {
                Some(b'"') => {
                    self.pos = stop + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let (c, next) = self.escape(stop + 1)?;
                    out.push(c);
                    from = next;
                    stop = self.string_stop(from);
                }
                _ => return Err(GaveUp),
            }
        }
    }

    /// The character an escape stands for (`i` is just after the backslash), and where the
    /// string goes on. Lone surrogates are refused, as serde_json refuses them.
    fn escape(&self, i: usize) -> Result<(char, usize)> {
        let c = match self.bytes.get(i).ok_or(GaveUp)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4(i + 1)?;
                if !(0xD800..0xE000).contains(&high) {
                    return Ok((char::from_u32(high as u32).ok_or(GaveUp)?, i + 5));
                }
                if high >= 0xDC00 || self.bytes.get(i + 5..i + 7) != Some(b"\\u") {
                    return Err(GaveUp);
                }
                let low = self.hex4(i + 7)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(GaveUp);
                }
                let code = 0x10000 + ((high as u32 - 0xD800) << 10) + (low as u32 - 0xDC00);
                return Ok((char::from_u32(code).ok_or(GaveUp)?, i + 11));
            }
            _ => return Err(GaveUp),
        };
        Ok((c, i + 1))
    }

    fn hex4(&self, i: usize) -> Result<u16> {
        let digits = self.bytes.get(i..i + 4).ok_or(GaveUp)?;
        let mut v: u16 = 0;
        for &d in digits {
            let x = (d as char).to_digit(16).ok_or(GaveUp)?;
            v = v * 16 + x as u16;
        }
        Ok(v)
    }

    /// Read the number at `self.pos`, as serde_json would hand it to a visitor.
    fn number(&mut self) -> Result<Number> {
        let start = self.pos;
        let b = self.bytes;
        let mut i = start;
        let negative = b.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        // Integer part: one `0`, or a non-zero digit and more digits.
        let int_start = i;
        let mut significand: u64 = 0;
        let mut overflowed = false;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d @ b'0'..=b'9') = b.get(i) {
                    match significand
                        .checked_mul(10)
                        .and_then(|s| s.checked_add((d - b'0') as u64))
                    {
                        Some(s) => significand = s,
                        None => overflowed = true,
                    }
                    i += 1;
                }
            }
            _ => return Err(GaveUp),
        }
        if b.get(int_start) == Some(&b'0') && matches!(b.get(i), Some(b'0'..=b'9')) {
            return Err(GaveUp);
        }
        let mut fraction_digits: i32 = 0;
        let mut is_float = false;
        if b.get(i) == Some(&b'.') {
            is_float = true;
            i += 1;
            let digits_start = i;
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                match significand
                    .checked_mul(10)
                    .and_then(|s| s.checked_add((d - b'0') as u64))
                {
                    Some(s) if !overflowed => {
                        significand = s;
                        fraction_digits += 1;
                    }
                    _ => overflowed = true,
                }
                i += 1;
            }
            if i == digits_start {
                return Err(GaveUp);
            }
        }
        let mut exponent: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            is_float = true;
            i += 1;
            let exponent_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let digits_start = i;
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                exponent = (exponent * 10 + (d - b'0') as i64).min(1 << 40);
                i += 1;
            }
            if i == digits_start {
                return Err(GaveUp);
            }
            if exponent_negative {
                exponent = -exponent;
            }
        }
        self.pos = i;

        if !is_float {
            if overflowed {
                // Beyond u64: serde_json reads it as a float.
                return self.float_from_token(start, i).map(Number::F64);
            }
            if !negative {
                return Ok(Number::U64(significand));
            }
            // serde_json's rule: `-0` and anything below i64::MIN become floats.
            let negated = (significand as i64).wrapping_neg();
            return Ok(if negated >= 0 {
                Number::F64(-(significand as f64))
            } else {
                Number::I64(negated)
            });
        }
        // The exact fast path where it applies, else the standard library's correctly rounded
        // parse of the token; both agree with serde_json's `float_roundtrip`.
        if !overflowed {
            if let Some(magnitude) = exact(significand, exponent - fraction_digits as i64) {
                return Ok(Number::F64(if negative { -magnitude } else { magnitude }));
            }
        }
        self.float_from_token(start, i).map(Number::F64)
    }

    fn float_from_token(&self, start: usize, end: usize) -> Result<f64> {
        let v: f64 = self.text[start..end].parse().map_err(|_| GaveUp)?;
        // serde_json refuses numbers out of the double range; so do we (it will say so).
        if v.is_finite() {
            Ok(v)
        } else {
            Err(GaveUp)
        }
    }

    /// Skip one value without building anything. Iterative, so nesting depth costs no stack.
    fn skip_value(&mut self) -> Result<()> {
        let mut open: Vec<u8> = Vec::new();
        'value: loop {
            match self.peek_after_whitespace().ok_or(GaveUp)? {
                b'{' => {
                    self.pos += 1;
                    if self.peek_after_whitespace() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        self.skip_key_and_colon()?;
                        open.push(b'{');
                        continue 'value;
                    }
                }
                b'[' => {
                    self.pos += 1;
                    if self.peek_after_whitespace() == Some(b']') {
                        self.pos += 1;
                    } else {
                        open.push(b'[');
                        continue 'value;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                b't' => self.expect_literal(b"true")?,
                b'f' => self.expect_literal(b"false")?,
                b'n' => self.expect_literal(b"null")?,
                _ => return Err(GaveUp),
            }
            // A value is complete: close containers until one goes on with a comma.
            loop {
                let Some(&container) = open.last() else {
                    return Ok(());
                };
                let close = if container == b'{' { b'}' } else { b']' };
                match self.peek_after_whitespace() {
                    Some(b',') => {
                        self.pos += 1;
                        if container == b'{' {
                            self.skip_key_and_colon()?;
                        }
                        continue 'value;
                    }
                    Some(c) if c == close => {
                        self.pos += 1;
                        open.pop();
                    }
                    _ => return Err(GaveUp),
                }
            }
        }
    }

    /// Skip the remaining entries of an object and its `}` (the reader stands after a value).
    pub(super) fn skip_rest_of_object(&mut self) -> Result<()> {
        loop {
            match self.peek_after_whitespace() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b',') => {
                    self.pos += 1;
                    self.skip_key_and_colon()?;
                    self.skip_value()?;
                }
                _ => return Err(GaveUp),
            }
        }
    }

    fn skip_key_and_colon(&mut self) -> Result<()> {
        if self.peek_after_whitespace() != Some(b'"') {
            return Err(GaveUp);
        }
        self.string()?;
        self.expect(b':')
    }
}

enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = GaveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek_after_whitespace().ok_or(GaveUp)? {
            b'{' => {
                let offered = self.pos >= self.ahead.next_at && self.ahead.offer(self.pos);
                self.pos += 1;
                let value = visitor.visit_map(Entries {
                    reader: &mut *self,
                    first: true,
                    offered,
                });
                if offered {
                    if let Some(end) = self.ahead.settle() {
                        // The visitor took the nodes read ahead for this object: go past it.
                        self.pos = end;
                        return value;
                    }
                }
                let value = value?;
                self.expect(b'}')?;
                Ok(value)
            }
            b'[' => {
                self.pos += 1;
                let value = visitor.visit_seq(Elements {
                    reader: &mut *self,
                    first: true,
                    offered: false,
                })?;
                self.expect(b']')?;
                Ok(value)
            }
            b'"' => match self.string()? {
                Text::Borrowed(s) => visitor.visit_borrowed_str(s),
                Text::Owned(s) => visitor.visit_string(s),
            },
            b'-' | b'0'..=b'9' => match self.number()? {
                Number::U64(v) => visitor.visit_u64(v),
                Number::I64(v) => visitor.visit_i64(v),
                Number::F64(v) => visitor.visit_f64(v),
            },
            b't' => {
                self.expect_literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.expect_literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.expect_literal(b"null")?;
                visitor.visit_unit()
            }
            _ => Err(GaveUp),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.peek_after_whitespace() == Some(b'n') {
            self.expect_literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.skip_value()?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

/// Where the items of an object or array stand: the next one, if any, is after a comma (or is
/// the first), and `close` ends them.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    first: bool,
    /// A subtree read ahead is offered for this object, until its visitor reads a key.
    offered: bool,
}

impl Items<'_, '_> {
    /// Step to the next item: `false` at the closing bracket (left for the caller to consume).
    #[inline]
    fn advance(&mut self, close: u8) -> Result<bool> {
        match self.reader.peek_after_whitespace() {
            Some(c) if c == close => return Ok(false),
            Some(b',') if !self.first => {
                self.reader.pos += 1;
                self.reader.skip_whitespace();
            }
            Some(_) if self.first => {}
            _ => return Err(GaveUp),
        }
        self.first = false;
        Ok(true)
    }
}

/// The entries of an object; the reader stands after `{`.
type Entries<'a, 'de> = Items<'a, 'de>;
/// The elements of an array; the reader stands after `[`.
type Elements<'a, 'de> = Items<'a, 'de>;

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = GaveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.offered {
            self.offered = false;
            super::json_split::withdraw();
        }
        if !self.advance(b'}')? {
            return Ok(None);
        }
        // Keys are strings; the seed sees one whatever it asks for.
        if self.reader.peek() != Some(b'"') {
            return Err(GaveUp);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.reader.expect(b':')?;
        seed.deserialize(&mut *self.reader)
    }
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = GaveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.advance(b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of `text`, and what this reader makes of it, as `Value`s.
    fn both(text: &str) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
        let ours = read_whole(
            text,
            std::marker::PhantomData::<serde_json::Value>,
            ReadAhead::none(),
        );
        let theirs = serde_json::from_str::<serde_json::Value>(text).ok();
        (ours, theirs)
    }

    fn agrees(text: &str) {
        let (ours, theirs) = both(text);
        // Compare the serialized forms: `Value`'s equality treats 0.0 and -0.0 as equal.
        assert_eq!(
            ours.as_ref().map(|v| v.to_string()),
            theirs.as_ref().map(|v| v.to_string()),
            "on {text:?}"
        );
    }

    #[test]
    fn numbers_are_read_as_serde_json_reads_them() {
        for text in [
            "0",
            "-0",
            "1",
            "-1",
            "12.5",
            "4850.00",
            "0.000",
            "-0.0",
            "1e5",
            "1E+5",
            "2.5e-3",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "9007199254740993",
            "9007199254740993.0",
            "0.1",
            "1e22",
            "1e23",
            "123456789012345678901234567890",
            "1.7976931348623157e308",
            "1e400",
            "-1e400",
            "1e-400",
            "0e999999",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "- 1",
            "3.141592653589793238462643383279",
            "5e-324",
            "2.2250738585072014e-308",
        ] {
            agrees(text);
            agrees(&format!("[{text}]"));
            agrees(&format!("{{\"k\": {text}}}"));
        }
    }

    #[test]
    fn strings_and_escapes_are_read_as_serde_json_reads_them() {
        for text in [
            r#""plain""#,
            r#""with \"quote\"""#,
            r#""\\ \/ \b \f \n \r \t""#,
            r#""\u00e9\u20ac""#,
            r#""\ud83d\ude00""#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\u12""#,
            r#""\x""#,
            "\"tab\there\"",
            "\"new\nline\"",
            "\"unterminated",
            "\"héllo wörld\"",
            r#""a long string that is longer than eight bytes, with \n in the middle""#,
        ] {
            agrees(text);
            agrees(&format!("{{{text}: 1}}"));
        }
    }

    #[test]
    fn structure_is_read_as_serde_json_reads_it() {
        for text in [
            "{}",
            "[]",
            " [ 1 , 2 ] ",
            "{\"a\":1,\"b\":[true,false,null]}",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,1]",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "[",
            "]",
            "{\"a\":}",
            "tru",
            "nul",
            "[1] x",
            "[1] [2]",
            "\t\r\n[\n        1\n]\n",
            "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
        ] {
            agrees(text);
        }
    }

    /// JSON-like text from pieces of JSON, valid or not: numbers of every shape, strings with
    /// escapes and control characters, brackets, commas, colons and whitespace in any order.
    fn json_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just(" ".to_string()),
            Just("\n        ".to_string()),
            Just("true".to_string()),
            Just("null".to_string()),
            Just("\"Node Type\"".to_string()),
            "-?[0-9]{1,25}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?",
            "\"([a-z ]|\\\\[\"\\\\/bfnrtux]|\\\\u[0-9a-fA-F]{4}|[\\x00-\\x1f]|é){0,12}\"?",
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    /// Well-formed JSON documents of every shape, with random whitespace between tokens.
    fn json_document() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let ws = prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t\r\n        ")];
        let leaf = prop_oneof![
            "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,20})?([eE][-+]?[0-9]{1,2})?",
            "\"([a-zA-Z _]|\\\\[\"\\\\/bfnrt]|\\\\u00[0-7][0-9a-f]|é|€){0,16}\"",
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let ws = ws.clone();
            prop_oneof![
                (proptest::collection::vec((inner.clone(), ws.clone()), 0..6)).prop_map(|v| {
                    let items: Vec<String> =
                        v.into_iter().map(|(x, w)| format!("{w}{x}{w}")).collect();
                    format!("[{}]", items.join(","))
                }),
                (proptest::collection::vec(("\"[A-Za-z ]{0,12}\"", inner, ws.clone()), 0..6))
                    .prop_map(|v| {
                        let items: Vec<String> = v
                            .into_iter()
                            .map(|(k, x, w)| format!("{w}{k}{w}:{w}{x}"))
                            .collect();
                        format!("{{{}}}", items.join(","))
                    }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn reads_json_like_text_as_serde_json_does(text in json_like()) {
            agrees(&text);
        }

        #[test]
        fn reads_every_document_as_serde_json_does(text in json_document()) {
            let (ours, theirs) = both(&text);
            proptest::prop_assert!(theirs.is_some(), "the generator made invalid JSON: {text}");
            proptest::prop_assert!(ours.is_some(), "the fast reader gave up on {text}");
            agrees(&text);
        }
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        let depth = 100_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(read_whole(
            &text,
            std::marker::PhantomData::<de::IgnoredAny>,
            ReadAhead::none()
        )
        .is_some());
        let unbalanced = format!("{}{}", "[".repeat(depth), "]".repeat(depth - 1));
        assert!(read_whole(
            &unbalanced,
            std::marker::PhantomData::<de::IgnoredAny>,
            ReadAhead::none()
        )
        .is_none());
    }
}
