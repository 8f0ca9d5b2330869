//! A query's fingerprint: a short hex hash of its normalised SQL, the key that matches a query run
//! today with the one recorded in a baseline.
//!
//! Normalisation, on the tokens of the project's lexer (`crate::sql::lex`), so nothing inside a
//! string, quoted identifier or dollar quote is ever touched:
//! - comments are dropped, and tokens are joined by one space whatever white space separated them;
//! - unquoted words (identifiers and keywords) are folded to lower case, as PostgreSQL folds them;
//!   quoted identifiers keep their case (`"Orders"` is another table than `orders`);
//! - trailing `;` are dropped.
//!
//! **Literals are kept.** `WHERE status = 'paid'` and `WHERE status = 'new'` can have different
//! plans (a skewed column), and a baseline records plans: merging them would compare a plan with
//! another query's plan. Editing a literal therefore makes the query "new" (and the old one "gone").
//!
//! The hash is 64-bit FNV-1a written here (not `DefaultHasher`, whose output may change between Rust
//! releases): the same SQL gives the same fingerprint on every platform and version, which a
//! baseline committed to git needs.

use crate::sql::lex::{Kind, Lexer};

/// The SQL in normal form (see the module docs). Text the lexer cannot read (an unterminated
/// quote) is kept from that point on with its white space collapsed.
pub fn normalise(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let push = |piece: &str, out: &mut String| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    };
    let mut unreadable = false;
    for tok in Lexer::new(sql) {
        let tok = match tok {
            Ok(t) => t,
            Err(_) => {
                unreadable = true;
                break;
            }
        };
        match tok.kind {
            Kind::LineComment | Kind::BlockComment => {}
            Kind::Word => push(&tok.text(sql).to_lowercase(), &mut out),
            _ => push(tok.text(sql), &mut out),
        }
    }
    if unreadable {
        // Keep the whole text, white space collapsed: still stable for the same input.
        return sql.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    while out.ends_with(';') {
        out.pop();
        while out.ends_with(' ') {
            out.pop();
        }
    }
    out
}

/// 16 lower-case hex digits: FNV-1a (64-bit) of the normalised SQL.
pub fn fingerprint(sql: &str) -> String {
    format!("{:016x}", fnv1a64(normalise(sql).as_bytes()))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_comments_and_case_do_not_change_it() {
        let a = "SELECT id FROM orders WHERE customer_id = 42";
        let variants = [
            "select id\n  from orders\n where customer_id = 42;",
            "-- the orders of one customer\nSELECT /* just the id */ id FROM Orders WHERE Customer_Id = 42 ;",
            "  SELECT\tid FROM orders WHERE customer_id = 42;;",
        ];
        for v in variants {
            assert_eq!(fingerprint(v), fingerprint(a), "{v}");
        }
        assert_eq!(
            normalise(variants[1]),
            "select id from orders where customer_id = 42"
        );
    }

    #[test]
    fn different_sql_gives_a_different_fingerprint() {
        let a = fingerprint("SELECT id FROM orders WHERE customer_id = 42");
        assert_ne!(
            a,
            fingerprint("SELECT id FROM orders WHERE customer_id = 43")
        );
        assert_ne!(
            a,
            fingerprint("SELECT id FROM \"Orders\" WHERE customer_id = 42")
        );
        assert_ne!(
            fingerprint("SELECT 'A b'"),
            fingerprint("SELECT 'a  b'"),
            "string contents are kept as written"
        );
        assert_ne!(a, fingerprint("SELECT id FROM orders"));
    }

    #[test]
    fn stable_value_across_builds() {
        // Pinned: a change here breaks every committed baseline.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint("SELECT 1").len(), 16);
        assert_eq!(fingerprint("SELECT 1"), fingerprint("select 1;"));
    }

    #[test]
    fn unreadable_sql_still_has_a_fingerprint() {
        let f = fingerprint("SELECT 'unterminated");
        assert_eq!(f, fingerprint("SELECT   'unterminated"));
        assert_ne!(f, fingerprint("SELECT 1"));
    }
}
