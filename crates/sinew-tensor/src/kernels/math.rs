//! Branch-free `exp`, `ln` and `ln_1p` for f32, so that elementwise loops (sigmoid, softplus,
//! the cross-entropies, softmax) vectorise: a libm call per element kept them scalar, and in the
//! dense-autoencoder step `expf`/`log1pf` were a quarter of the main thread's time.
//!
//! The polynomials are Cephes' `expf` and `logf` (S. L. Moshier), good to about 2 ulp on the
//! normal range; special values (±inf, NaN, 0, overflow, underflow) are patched with selects,
//! which compile to blends rather than branches. f64 keeps std's versions: it is the dtype of the
//! gradient checks, where accuracy matters and speed does not.

// Coefficients are written as Cephes publishes them; f32 rounds the last digits.
#![allow(clippy::excessive_precision)]
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two so that `x - n ln2` stays exact for the exponents f32 can reach.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding then subtracting 1.5 * 2^23 rounds to the nearest integer without `roundps` (SSE4.1).
const ROUND: f32 = 12_582_912.0;
/// Above this, e^x overflows f32; below `EXP_LO`, the result is 0 to within the smallest normal.
const EXP_HI: f32 = 88.722_84;
const EXP_LO: f32 = -87.336_55;

/// `e^x` for f32, max relative error about 2e-7.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let xc = x.clamp(EXP_LO, EXP_HI);
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    // The integer n sits in the low mantissa bits of t: reading it from there avoids a
    // float-to-int conversion, whose saturating `as` kept the loop from vectorising.
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = xc - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let y = p * z + r + 1.0;
    // 2^n in two halves: n reaches 128 near the top of the range and -126 at the bottom, where
    // one biased exponent would overflow or hit zero.
    let h = ni >> 1;
    let v = y * f32::from_bits(((h + 127) << 23) as u32) * f32::from_bits(((ni - h + 127) << 23) as u32);
    let v = if x > EXP_HI { f32::INFINITY } else { v };
    let v = if x < EXP_LO { 0.0 } else { v };
    if x.is_nan() {
        x
    } else {
        v
    }
}

/// The logistic function `1 / (1 + e^-x)` for f32, through [`exp_f32`] (so loops over it
/// vectorise).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Natural log for f32, max relative error about 2e-7 (absolute near 1).
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    // Scale subnormals into the normal range first.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let bits = xs.to_bits() as i32;
    let e = ((bits >> 23) & 0xff) - 126 - if sub { 23 } else { 0 };
    // Mantissa in [0.5, 1), then in [sqrt(1/2), sqrt(2)) around 1.
    let m = f32::from_bits(((bits & 0x007f_ffff) | 0x3f00_0000) as u32);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    let e = (if small { e - 1 } else { e }) as f32;
    let m = if small { m + m - 1.0 } else { m - 1.0 };
    let z = m * m;
    let mut p = 7.037_683_6e-2f32;
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333_1e-1,
    ] {
        p = p * m + c;
    }
    let y = p * m * z + e * LN2_LO - 0.5 * z;
    let v = m + y + e * LN2_HI;
    let v = if x == 0.0 { f32::NEG_INFINITY } else { v };
    let v = if x == f32::INFINITY { x } else { v };
    if x < 0.0 || x.is_nan() {
        f32::NAN
    } else {
        v
    }
}

/// `ln(1 + x)` for f32, accurate for small `x`: `ln(u) * x / (u - 1)` with `u = 1 + x` cancels
/// the rounding error of forming `u` (Goldberg, "What every computer scientist should know about
/// floating-point arithmetic", theorem 4).
#[inline(always)]
pub fn ln_1p_f32(x: f32) -> f32 {
    let u = 1.0 + x;
    let d = u - 1.0;
    let l = ln_f32(u);
    let v = if d == 0.0 { x } else { l * (x / d) };
    if x == f32::INFINITY {
        x
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f32, b: f64) -> f64 {
        if b == 0.0 {
            (a as f64).abs()
        } else {
            ((a as f64 - b) / b).abs()
        }
    }

    /// Every 97th f32 bit pattern in the range, against f64 std.
    fn sweep(lo: f32, hi: f32, mut f: impl FnMut(f32)) {
        let (a, b) = (lo.to_bits(), hi.to_bits());
        let (a, b) = (a.min(b), a.max(b));
        for bits in (a..=b).step_by(97) {
            f(f32::from_bits(bits));
        }
    }

    #[test]
    fn exp_f32_matches_f64_on_its_range() {
        let mut worst = 0f64;
        for (lo, hi) in [(0.0f32, 88.7f32), (-0.0, -87.3)] {
            sweep(lo, hi, |x| worst = worst.max(rel(exp_f32(x), (x as f64).exp())));
        }
        assert!(worst < 3e-7, "exp_f32 worst relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn ln_and_ln_1p_f32_match_f64() {
        let mut worst = 0f64;
        sweep(1e-44, 3e38, |x| {
            let (got, want) = (ln_f32(x) as f64, (x as f64).ln());
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
        });
        assert!(worst < 3e-7, "ln_f32 worst error {worst}");
        let mut worst = 0f64;
        for (lo, hi) in [(0.0f32, 1e10f32), (-0.0, -0.999_999)] {
            sweep(lo, hi, |x| worst = worst.max(rel(ln_1p_f32(x), (x as f64).ln_1p())));
        }
        assert!(worst < 4e-7, "ln_1p_f32 worst relative error {worst}");
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(-1.0).is_nan() && ln_f32(f32::NAN).is_nan());
        assert_eq!(ln_1p_f32(-1.0), f32::NEG_INFINITY);
        assert_eq!(ln_1p_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(ln_1p_f32(1e-30), 1e-30);
        assert!(ln_1p_f32(-2.0).is_nan());
    }
}
