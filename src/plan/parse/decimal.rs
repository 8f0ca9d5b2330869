//! The exact fast path of decimal reading, shared by the JSON and text readers.

/// Powers of ten an `f64` holds exactly (10^22 is the last).
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `significand × 10^power`, when it can be computed exactly: the significand and the power of
/// ten are both exact doubles, so one multiplication or division rounds correctly (the classic
/// fast path; it agrees with a correctly rounded parse of the same digits). `None` otherwise:
/// the caller parses the digits with the standard library.
#[inline]
pub(super) fn exact(significand: u64, power: i64) -> Option<f64> {
    if significand > 1 << 53 || !(-22..=22).contains(&power) {
        return None;
    }
    let magnitude = significand as f64;
    Some(if power < 0 {
        magnitude / EXACT_POWERS[power.unsigned_abs() as usize]
    } else {
        magnitude * EXACT_POWERS[power as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_standard_library_where_it_answers() {
        for (significand, power) in [
            (0u64, 0i64),
            (1, -22),
            (5, -1),
            (12345, -3),
            (9_007_199_254_740_992, 0),
            (9_007_199_254_740_992, -22),
            (123_456_789_012_345, -15),
            (7, 22),
            (1, 5),
        ] {
            let text = format!("{significand}e{power}");
            assert_eq!(
                exact(significand, power),
                Some(text.parse::<f64>().unwrap()),
                "{text}"
            );
        }
        assert_eq!(exact(9_007_199_254_740_993, 0), None);
        assert_eq!(exact(1, 23), None);
        assert_eq!(exact(1, -23), None);
    }
}
