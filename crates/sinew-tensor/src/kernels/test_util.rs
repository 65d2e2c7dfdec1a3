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
