//! Nearest and bilinear upsampling over NHWC, with their adjoints.

use crate::dtype::Float;

fn check(n: usize, h: usize, w: usize, c: usize, oh: usize, ow: usize, x: usize, y: usize, op: &str) {
    assert!(x == n * h * w * c, "{op}: input of {x} values is not [{n}, {h}, {w}, {c}]");
    assert!(y == n * oh * ow * c, "{op}: output of {y} values is not [{n}, {oh}, {ow}, {c}]");
}

/// Repeats every pixel `sh x sw` times (Keras `UpSampling2D(interpolation="nearest")`).
#[allow(clippy::too_many_arguments)]
pub fn upsample_nearest2d_forward<T: Float>(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    sh: usize,
    sw: usize,
    x: &[T],
    y: &mut [T],
) {
    let (oh, ow) = (h * sh, w * sw);
    check(n, h, w, c, oh, ow, x.len(), y.len(), "upsample_nearest2d");
    for b in 0..n {
        for oy in 0..oh {
            let src = &x[(b * h + oy / sh) * w * c..][..w * c];
            let dst = &mut y[(b * oh + oy) * ow * c..][..ow * c];
            for ox in 0..ow {
                dst[ox * c..(ox + 1) * c].copy_from_slice(&src[(ox / sw) * c..(ox / sw + 1) * c]);
            }
        }
    }
}

/// Sums each `sh x sw` block of the output gradient into its source pixel.
#[allow(clippy::too_many_arguments)]
pub fn upsample_nearest2d_backward<T: Float>(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    sh: usize,
    sw: usize,
    dy: &[T],
    dx: &mut [T],
) {
    let (oh, ow) = (h * sh, w * sw);
    check(n, h, w, c, oh, ow, dx.len(), dy.len(), "upsample_nearest2d_backward");
    dx.fill(T::ZERO);
    for b in 0..n {
        for oy in 0..oh {
            let src = &dy[(b * oh + oy) * ow * c..][..ow * c];
            let dst = &mut dx[(b * h + oy / sh) * w * c..][..w * c];
            for ox in 0..ow {
                let d = &mut dst[(ox / sw) * c..(ox / sw + 1) * c];
                d.iter_mut().zip(&src[ox * c..(ox + 1) * c]).for_each(|(d, &s)| *d += s);
            }
        }
    }
}

/// Source taps of output index `o`: `(i0, i1, weight of i1)` with half-pixel centres
/// (`align_corners=False`): `src = (o + 0.5) * in / out - 0.5`, clamped below at 0.
fn taps(o: usize, len_in: usize, len_out: usize) -> (usize, usize, f64) {
    let src = ((o as f64 + 0.5) * len_in as f64 / len_out as f64 - 0.5).max(0.0);
    let i0 = (src.floor() as usize).min(len_in - 1);
    let i1 = (i0 + 1).min(len_in - 1);
    (i0, i1, src - i0 as f64)
}

/// Bilinear resize to `oh x ow`, as PyTorch `interpolate(mode="bilinear", align_corners=False)`
/// and Keras `UpSampling2D(interpolation="bilinear")`.
#[allow(clippy::too_many_arguments)]
pub fn upsample_bilinear2d_forward<T: Float>(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    x: &[T],
    y: &mut [T],
) {
    check(n, h, w, c, oh, ow, x.len(), y.len(), "upsample_bilinear2d");
    let xt: Vec<_> = (0..ow).map(|o| taps(o, w, ow)).collect();
    for b in 0..n {
        for oy in 0..oh {
            let (y0, y1, ly) = taps(oy, h, oh);
            for (ox, &(x0, x1, lx)) in xt.iter().enumerate() {
                let wts = [
                    ((y0, x0), (1.0 - ly) * (1.0 - lx)),
                    ((y0, x1), (1.0 - ly) * lx),
                    ((y1, x0), ly * (1.0 - lx)),
                    ((y1, x1), ly * lx),
                ];
                let dst = &mut y[((b * oh + oy) * ow + ox) * c..][..c];
                dst.fill(T::ZERO);
                for ((iy, ix), wt) in wts {
                    let wt = T::from_f64(wt);
                    let src = &x[((b * h + iy) * w + ix) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += wt * s);
                }
            }
        }
    }
}

/// The adjoint of [`upsample_bilinear2d_forward`].
#[allow(clippy::too_many_arguments)]
pub fn upsample_bilinear2d_backward<T: Float>(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    dy: &[T],
    dx: &mut [T],
) {
    check(n, h, w, c, oh, ow, dx.len(), dy.len(), "upsample_bilinear2d_backward");
    dx.fill(T::ZERO);
    let xt: Vec<_> = (0..ow).map(|o| taps(o, w, ow)).collect();
    for b in 0..n {
        for oy in 0..oh {
            let (y0, y1, ly) = taps(oy, h, oh);
            for (ox, &(x0, x1, lx)) in xt.iter().enumerate() {
                let wts = [
                    ((y0, x0), (1.0 - ly) * (1.0 - lx)),
                    ((y0, x1), (1.0 - ly) * lx),
                    ((y1, x0), ly * (1.0 - lx)),
                    ((y1, x1), ly * lx),
                ];
                let src = &dy[((b * oh + oy) * ow + ox) * c..][..c];
                for ((iy, ix), wt) in wts {
                    let wt = T::from_f64(wt);
                    let dst = &mut dx[((b * h + iy) * w + ix) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += wt * s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(s: &mut u64) -> f64 {
        *s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn upsample_backward_is_the_adjoint_of_forward() {
        let mut s = 1;
        for &(n, h, w, c, a, b) in &[(1, 3, 4, 2, 2, 3), (2, 1, 1, 1, 3, 2), (2, 4, 5, 3, 2, 2)] {
            let x: Vec<f64> = (0..n * h * w * c).map(|_| lcg(&mut s)).collect();
            let (oh, ow) = (h * a, w * b);
            let dy: Vec<f64> = (0..n * oh * ow * c).map(|_| lcg(&mut s)).collect();
            let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
            upsample_nearest2d_forward(n, h, w, c, a, b, &x, &mut y);
            upsample_nearest2d_backward(n, h, w, c, a, b, &dy, &mut dx);
            assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10);
            // Bilinear to sizes that are not multiples (down- and up-sampling).
            for (oh, ow) in [(oh, ow), (h + 3, w.max(2) - 1)] {
                let dy: Vec<f64> = (0..n * oh * ow * c).map(|_| lcg(&mut s)).collect();
                let mut y = vec![0.0; dy.len()];
                upsample_bilinear2d_forward(n, h, w, c, oh, ow, &x, &mut y);
                upsample_bilinear2d_backward(n, h, w, c, oh, ow, &dy, &mut dx);
                assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn upsample_bilinear_matches_hand_values() {
        // 1x2 -> 1x4: half-pixel sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped tap).
        let mut y = vec![0.0; 4];
        upsample_bilinear2d_forward(1, 1, 2, 1, 1, 4, &[0.0, 4.0], &mut y);
        assert_eq!(y, vec![0.0, 1.0, 3.0, 4.0]);
    }
}
