//! Seeded random inputs for the kernel tests: one generator, so every test draws the same way.

use crate::Float;

/// A 64-bit linear congruential step, mapped to a uniform value in [-0.5, 0.5).
pub(crate) fn lcg(s: &mut u64) -> f64 {
    *s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// A uniform integer in `lo..=hi`.
pub(crate) fn pick(s: &mut u64, lo: usize, hi: usize) -> usize {
    lo + ((lcg(s) + 0.5) * (hi - lo + 1) as f64) as usize % (hi - lo + 1)
}

/// `n` values from [`lcg`].
pub(crate) fn rand<T: Float>(n: usize, s: &mut u64) -> Vec<T> {
    (0..n).map(|_| T::from_f64(lcg(s))).collect()
}

/// Asserts `a` matches `b` element by element within `tol` relative to `1 + |b|` (NaN matches
/// NaN, and equal values match, infinities included); `what` names the buffer in the message.
pub(crate) fn assert_close<T: Float>(a: &[T], b: &[T], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let (x, y) = (x.to_f64(), y.to_f64());
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= tol * (1.0 + y.abs());
        assert!(ok, "{what}[{i}]: {x} vs {y}");
    }
}
