//! Nearest and bilinear upsampling over NHWC, with their adjoints. Channels are innermost, so each
//! source pixel is a contiguous run of `c` values; forward passes split output lines across
//! threads, backward passes split input lines (nearest, a gather) or images (bilinear, a scatter).

use crate::dtype::Float;
use rayon::prelude::*;

/// Below this many elements a loop stays on one thread (fork/join costs more).
const PAR_WORK: usize = 1 << 15;

#[allow(clippy::too_many_arguments)]
fn check(n: usize, h: usize, w: usize, c: usize, oh: usize, ow: usize, x: usize, y: usize, op: &str) {
    assert!(x == n * h * w * c, "{op}: input has {x} values, expected [{n}, {h}, {w}, {c}] = {}", n * h * w * c);
    assert!(y == n * oh * ow * c, "{op}: output has {y} values, expected [{n}, {oh}, {ow}, {c}] = {}", n * oh * ow * c);
    assert!(y == 0 || (h > 0 && w > 0), "{op}: cannot resize an empty {h}x{w} image to {oh}x{ow}");
}

/// Runs `f(line, chunk)` over `data` cut into lines of `len`, in parallel when `data` is large.
fn for_lines<T: Send>(data: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if len == 0 {
        return;
    }
    if data.len() >= PAR_WORK && data.len() > len {
        data.par_chunks_mut(len).enumerate().for_each(|(i, d)| f(i, d));
    } else {
        data.chunks_mut(len).enumerate().for_each(|(i, d)| f(i, d));
    }
}

/// Repeats every pixel `sh x sw` times: `y` is `[n, h*sh, w*sw, c]` (Keras
/// `UpSampling2D(interpolation="nearest")`, PyTorch `interpolate(mode="nearest")` at integer scales).
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
    assert!(sh > 0 && sw > 0, "upsample_nearest2d_forward: scales must be positive, got {sh}x{sw}");
    let (oh, ow) = (h * sh, w * sw);
    check(n, h, w, c, oh, ow, x.len(), y.len(), "upsample_nearest2d_forward");
    for_lines(y, ow * c, |l, dst| {
        let (b, oy) = (l / oh, l % oh);
        let src = &x[(b * h + oy / sh) * w * c..][..w * c];
        for (px, out) in src.chunks_exact(c).zip(dst.chunks_exact_mut(sw * c)) {
            for rep in out.chunks_exact_mut(c) {
                rep.copy_from_slice(px);
            }
        }
    });
}

/// Sums each `sh x sw` block of the output gradient into its source pixel (overwrites `dx`).
/// A gather per input line, so lines are independent and nothing needs zeroing first.
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
    assert!(sh > 0 && sw > 0, "upsample_nearest2d_backward: scales must be positive, got {sh}x{sw}");
    let (oh, ow) = (h * sh, w * sw);
    check(n, h, w, c, oh, ow, dx.len(), dy.len(), "upsample_nearest2d_backward");
    for_lines(dx, w * c, |l, dst| {
        dst.fill(T::ZERO);
        for r in 0..sh {
            let src = &dy[(l * sh + r) * ow * c..][..ow * c];
            for (px, block) in dst.chunks_exact_mut(c).zip(src.chunks_exact(sw * c)) {
                for rep in block.chunks_exact(c) {
                    px.iter_mut().zip(rep).for_each(|(d, &s)| *d += s);
                }
            }
        }
    });
}

/// Source taps of output index `o` along one axis: `(i0, i1, weight of i1)`, with half-pixel
/// centres (`align_corners=False`): `src = (o + 0.5) * len_in / len_out - 0.5`, clamped below at
/// 0, `i1 = min(i0 + 1, len_in - 1)`.
fn taps(o: usize, len_in: usize, len_out: usize) -> (usize, usize, f64) {
    let src = ((o as f64 + 0.5) * len_in as f64 / len_out as f64 - 0.5).max(0.0);
    let i0 = (src.floor() as usize).min(len_in - 1);
    (i0, (i0 + 1).min(len_in - 1), src - i0 as f64)
}

/// The four taps of output `(oy, ox)` as (input pixel row, column, weight).
fn corners<T: Float>((y0, y1, ly): (usize, usize, f64), (x0, x1, lx): (usize, usize, f64)) -> [(usize, usize, T); 4] {
    let w = |v: f64| T::from_f64(v);
    [
        (y0, x0, w((1.0 - ly) * (1.0 - lx))),
        (y0, x1, w((1.0 - ly) * lx)),
        (y1, x0, w(ly * (1.0 - lx))),
        (y1, x1, w(ly * lx)),
    ]
}

/// Bilinear resize of `[n, h, w, c]` to `[n, oh, ow, c]`, as PyTorch
/// `interpolate(mode="bilinear", align_corners=False)` and Keras
/// `UpSampling2D(interpolation="bilinear")` (which also works as a downsample).
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
    check(n, h, w, c, oh, ow, x.len(), y.len(), "upsample_bilinear2d_forward");
    if y.is_empty() {
        return;
    }
    let xt: Vec<_> = (0..ow).map(|o| taps(o, w, ow)).collect();
    for_lines(y, ow * c, |l, dst| {
        let (b, oy) = (l / oh, l % oh);
        let yt = taps(oy, h, oh);
        let xb = &x[b * h * w * c..(b + 1) * h * w * c];
        for (out, &t) in dst.chunks_exact_mut(c).zip(&xt) {
            let [(ya, xa, wa), (yb, xb_, wb), (yc, xc, wc), (yd, xd, wd)] = corners::<T>(yt, t);
            let (pa, pb) = (&xb[(ya * w + xa) * c..][..c], &xb[(yb * w + xb_) * c..][..c]);
            let (pc, pd) = (&xb[(yc * w + xc) * c..][..c], &xb[(yd * w + xd) * c..][..c]);
            for (ch, o) in out.iter_mut().enumerate() {
                *o = wa * pa[ch] + wb * pb[ch] + wc * pc[ch] + wd * pd[ch];
            }
        }
    });
}

/// The adjoint of [`upsample_bilinear2d_forward`] (overwrites `dx`): each output gradient is
/// scattered to its four taps, one image per task.
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
    if dy.is_empty() {
        dx.fill(T::ZERO);
        return;
    }
    let xt: Vec<_> = (0..ow).map(|o| taps(o, w, ow)).collect();
    for_lines(dx, h * w * c, |b, dxb| {
        dxb.fill(T::ZERO);
        for oy in 0..oh {
            let yt = taps(oy, h, oh);
            let line = &dy[(b * oh + oy) * ow * c..][..ow * c];
            for (go, &t) in line.chunks_exact(c).zip(&xt) {
                for (iy, ix, wt) in corners::<T>(yt, t) {
                    let d = &mut dxb[(iy * w + ix) * c..][..c];
                    d.iter_mut().zip(go).for_each(|(d, &g)| *d += wt * g);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::rand;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(p, q)| p * q).sum()
    }

    /// Batch, input size, channels, and the nearest scales (bilinear also tries odd sizes).
    const CASES: &[(usize, usize, usize, usize, usize, usize)] =
        &[(1, 3, 4, 2, 2, 3), (2, 1, 1, 1, 3, 2), (2, 4, 5, 3, 2, 2), (3, 5, 3, 1, 1, 4), (1, 7, 2, 8, 3, 1)];

    /// Bilinear straight from the formula, one output element at a time.
    fn bilinear_naive(n: usize, h: usize, w: usize, c: usize, oh: usize, ow: usize, x: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; n * oh * ow * c];
        let src = |o: usize, i: usize, out: usize| ((o as f64 + 0.5) * i as f64 / out as f64 - 0.5).max(0.0);
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let (sy, sx) = (src(oy, h, oh), src(ox, w, ow));
                    let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
                    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
                    let (ly, lx) = (sy - y0 as f64, sx - x0 as f64);
                    for ch in 0..c {
                        let at = |iy: usize, ix: usize| x[((b * h + iy) * w + ix) * c + ch];
                        y[((b * oh + oy) * ow + ox) * c + ch] = (1.0 - ly)
                            * ((1.0 - lx) * at(y0, x0) + lx * at(y0, x1))
                            + ly * ((1.0 - lx) * at(y1, x0) + lx * at(y1, x1));
                    }
                }
            }
        }
        y
    }

    #[test]
    fn upsample_forward_matches_naive() {
        let mut s = 2;
        for &(n, h, w, c, a, b) in CASES {
            let x = rand::<f64>(n * h * w * c, &mut s);
            let mut y = vec![f64::NAN; n * h * a * w * b * c];
            upsample_nearest2d_forward(n, h, w, c, a, b, &x, &mut y);
            for (i, &v) in y.iter().enumerate() {
                let (ch, ox, oy, bb) = (i % c, i / c % (w * b), i / c / (w * b) % (h * a), i / c / (w * b) / (h * a));
                assert_eq!(v, x[((bb * h + oy / a) * w + ox / b) * c + ch]);
            }
            for (oh, ow) in [(h * a, w * b), (h + 3, w.max(2) - 1), (1, 1), (2 * h + 1, 3 * w)] {
                let mut y = vec![f64::NAN; n * oh * ow * c];
                upsample_bilinear2d_forward(n, h, w, c, oh, ow, &x, &mut y);
                let yr = bilinear_naive(n, h, w, c, oh, ow, &x);
                assert!(y.iter().zip(&yr).all(|(p, q)| (p - q).abs() < 1e-12), "{n} {h} {w} {c} -> {oh} {ow}");
            }
        }
    }

    #[test]
    fn upsample_backward_is_the_adjoint_of_forward() {
        let mut s = 1;
        for &(n, h, w, c, a, b) in CASES {
            let x = rand::<f64>(n * h * w * c, &mut s);
            let dy = rand::<f64>(n * h * a * w * b * c, &mut s);
            let (mut y, mut dx) = (vec![0.0; dy.len()], vec![f64::NAN; x.len()]);
            upsample_nearest2d_forward(n, h, w, c, a, b, &x, &mut y);
            upsample_nearest2d_backward(n, h, w, c, a, b, &dy, &mut dx);
            assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10, "nearest {n} {h} {w} {c} {a} {b}");
            // Bilinear to sizes that are not multiples, down- as well as up-sampling.
            for (oh, ow) in [(h * a, w * b), (h + 3, w.max(2) - 1), (1, 1), (2 * h + 1, 3 * w)] {
                let dy = rand::<f64>(n * oh * ow * c, &mut s);
                let (mut y, mut dx) = (vec![0.0; dy.len()], vec![f64::NAN; x.len()]);
                upsample_bilinear2d_forward(n, h, w, c, oh, ow, &x, &mut y);
                upsample_bilinear2d_backward(n, h, w, c, oh, ow, &dy, &mut dx);
                assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10, "bilinear {n} {h} {w} {c} -> {oh} {ow}");
            }
        }
    }

    #[test]
    fn upsample_bilinear_matches_pytorch_values() {
        // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=4, mode="bilinear")
        let mut y = vec![0f32; 16];
        upsample_bilinear2d_forward(1, 2, 2, 1, 4, 4, &[1.0, 2.0, 3.0, 4.0], &mut y);
        let want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_eq!(y, want);
        // 1x2 -> 1x4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (second tap clamped).
        let mut y = vec![0.0; 4];
        upsample_bilinear2d_forward(1, 1, 2, 1, 1, 4, &[0.0, 4.0], &mut y);
        assert_eq!(y, vec![0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn upsample_large_inputs_take_the_parallel_paths() {
        let (n, h, w, c) = (4, 14, 14, 32);
        let mut s = 4;
        let x = rand::<f64>(n * h * w * c, &mut s);
        let dy = rand::<f64>(n * 28 * 28 * c, &mut s);
        let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
        upsample_nearest2d_forward(n, h, w, c, 2, 2, &x, &mut y);
        upsample_nearest2d_backward(n, h, w, c, 2, 2, &dy, &mut dx);
        assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-9);
        upsample_bilinear2d_forward(n, h, w, c, 28, 28, &x, &mut y);
        assert!(y.iter().zip(&bilinear_naive(n, h, w, c, 28, 28, &x)).all(|(p, q)| (p - q).abs() < 1e-12));
        upsample_bilinear2d_backward(n, h, w, c, 28, 28, &dy, &mut dx);
        assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-9);
    }

    #[test]
    #[should_panic(expected = "upsample_bilinear2d_forward: output has 5 values")]
    fn upsample_rejects_mismatched_output() {
        upsample_bilinear2d_forward(1, 2, 2, 1, 2, 3, &[0f32; 4], &mut [0f32; 5]);
    }
}
