//! Max and average pooling over NHWC, any window, stride and padding. Channels are the innermost
//! loop, so every window tap is a contiguous, vectorisable run of `c` values.

use super::Pool2dGeom;
use crate::dtype::Float;
use rayon::prelude::*;

const PAR_WORK: usize = 1 << 15;

fn check(g: &Pool2dGeom, x: usize, y: usize, op: &str) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(x == g.n * g.h * g.w * g.c, "{op}: input of {x} values does not match {g:?}");
    assert!(y == g.n * oh * ow * g.c, "{op}: output of {y} values does not match {g:?} ({oh}x{ow} out)");
}

/// In-bounds input range of output index `o` along one axis: `(start, end)` in input coordinates.
#[inline]
fn window(o: usize, stride: usize, pad: usize, pad_hi: usize, k: usize, len: usize) -> (usize, usize, usize) {
    let lo = (o * stride) as isize - pad as isize;
    let start = lo.max(0) as usize;
    let end = ((lo + k as isize).min(len as isize)).max(0) as usize;
    // Also the number of taps that fall on padding or beyond (for count_include_pad).
    let clipped_hi = (lo + k as isize).min((len + pad_hi) as isize);
    let with_pad = (clipped_hi - lo) as usize;
    (start, end.max(start), with_pad)
}

/// Max pooling. `argmax[i]` is the index of output `i`'s maximum within its image
/// (`(h * w + x) * c + ch`). The first maximum in row-major window order wins ties; NaN wins.
pub fn max_pool2d_forward<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    check(g, x.len(), y.len(), "max_pool2d");
    assert!(argmax.len() == y.len(), "max_pool2d: argmax has {} slots for {} outputs", argmax.len(), y.len());
    let (oh, ow, c) = (g.out_h(), g.out_w(), g.c);
    let img = g.h * g.w * c;
    let row = |r: usize, yr: &mut [T], ar: &mut [u32]| {
        let (b, oy) = (r / oh, r % oh);
        let xb = &x[b * img..(b + 1) * img];
        let (h0, h1, _) = window(oy, g.stride_h, g.pad_top, g.pad_bottom, g.kh, g.h);
        for ox in 0..ow {
            let (w0, w1, _) = window(ox, g.stride_w, g.pad_left, g.pad_right, g.kw, g.w);
            let yo = &mut yr[ox * c..(ox + 1) * c];
            let ao = &mut ar[ox * c..(ox + 1) * c];
            yo.fill(T::NEG_INFINITY);
            let mut first = true;
            for ih in h0..h1 {
                for iw in w0..w1 {
                    let base = (ih * g.w + iw) * c;
                    let xs = &xb[base..base + c];
                    for ch in 0..c {
                        let v = xs[ch];
                        // Strictly greater keeps the first maximum; a NaN always takes over and, once
                        // taken, sticks (nothing compares greater than NaN).
                        if first || v > yo[ch] || (v.is_nan() && !yo[ch].is_nan()) {
                            yo[ch] = v;
                            ao[ch] = (base + ch) as u32;
                        }
                    }
                    first = false;
                }
            }
        }
    };
    let rows = g.n * oh;
    if y.len() >= PAR_WORK {
        y.par_chunks_mut(ow * c)
            .zip(argmax.par_chunks_mut(ow * c))
            .enumerate()
            .for_each(|(r, (yr, ar))| row(r, yr, ar));
    } else {
        for (r, (yr, ar)) in y.chunks_mut(ow * c).zip(argmax.chunks_mut(ow * c)).enumerate().take(rows) {
            row(r, yr, ar);
        }
    }
}

/// Routes each output gradient to its recorded maximum. Overlapping windows accumulate.
pub fn max_pool2d_backward<T: Float>(g: &Pool2dGeom, dy: &[T], argmax: &[u32], dx: &mut [T]) {
    check(g, dx.len(), dy.len(), "max_pool2d_backward");
    let img = g.h * g.w * g.c;
    let per_out = g.out_h() * g.out_w() * g.c;
    let body = |b: usize, dxb: &mut [T]| {
        dxb.fill(T::ZERO);
        for (gv, &a) in dy[b * per_out..(b + 1) * per_out].iter().zip(&argmax[b * per_out..(b + 1) * per_out]) {
            dxb[a as usize] += *gv;
        }
    };
    if dx.len() >= PAR_WORK {
        dx.par_chunks_mut(img).enumerate().for_each(|(b, d)| body(b, d));
    } else {
        dx.chunks_mut(img).enumerate().for_each(|(b, d)| body(b, d));
    }
}

/// Average pooling. `count_include_pad = false` divides by the taps inside the input (Keras/TF
/// `same`); `true` divides by the window clipped to the padded extent (PyTorch's default).
pub fn avg_pool2d_forward<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], count_include_pad: bool) {
    check(g, x.len(), y.len(), "avg_pool2d");
    let (oh, ow, c) = (g.out_h(), g.out_w(), g.c);
    let img = g.h * g.w * c;
    let row = |r: usize, yr: &mut [T]| {
        let (b, oy) = (r / oh, r % oh);
        let xb = &x[b * img..(b + 1) * img];
        let (h0, h1, hp) = window(oy, g.stride_h, g.pad_top, g.pad_bottom, g.kh, g.h);
        for ox in 0..ow {
            let (w0, w1, wp) = window(ox, g.stride_w, g.pad_left, g.pad_right, g.kw, g.w);
            let yo = &mut yr[ox * c..(ox + 1) * c];
            yo.fill(T::ZERO);
            for ih in h0..h1 {
                for iw in w0..w1 {
                    let base = (ih * g.w + iw) * c;
                    yo.iter_mut().zip(&xb[base..base + c]).for_each(|(o, &v)| *o += v);
                }
            }
            let count = if count_include_pad { hp * wp } else { (h1 - h0) * (w1 - w0) };
            let inv = T::ONE / T::from_f64(count.max(1) as f64);
            yo.iter_mut().for_each(|o| *o *= inv);
        }
    };
    if y.len() >= PAR_WORK {
        y.par_chunks_mut(ow * c).enumerate().for_each(|(r, yr)| row(r, yr));
    } else {
        y.chunks_mut(ow * c).enumerate().for_each(|(r, yr)| row(r, yr));
    }
}

/// Spreads each output gradient evenly over its window's taps.
pub fn avg_pool2d_backward<T: Float>(g: &Pool2dGeom, dy: &[T], dx: &mut [T], count_include_pad: bool) {
    check(g, dx.len(), dy.len(), "avg_pool2d_backward");
    let (oh, ow, c) = (g.out_h(), g.out_w(), g.c);
    let img = g.h * g.w * c;
    let body = |b: usize, dxb: &mut [T]| {
        dxb.fill(T::ZERO);
        for oy in 0..oh {
            let (h0, h1, hp) = window(oy, g.stride_h, g.pad_top, g.pad_bottom, g.kh, g.h);
            for ox in 0..ow {
                let (w0, w1, wp) = window(ox, g.stride_w, g.pad_left, g.pad_right, g.kw, g.w);
                let count = if count_include_pad { hp * wp } else { (h1 - h0) * (w1 - w0) };
                let inv = T::ONE / T::from_f64(count.max(1) as f64);
                let go = &dy[((b * oh + oy) * ow + ox) * c..][..c];
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        let base = (ih * g.w + iw) * c;
                        dxb[base..base + c].iter_mut().zip(go).for_each(|(d, &v)| *d += v * inv);
                    }
                }
            }
        }
    };
    if dx.len() >= PAR_WORK {
        dx.par_chunks_mut(img).enumerate().for_each(|(b, d)| body(b, d));
    } else {
        dx.chunks_mut(img).enumerate().for_each(|(b, d)| body(b, d));
    }
}

/// Reference max pooling, straight from the definition.
pub fn max_pool2d_forward_naive<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T]) {
    naive_pool(g, x, y, |vals, _| {
        let mut best = vals[0];
        for &v in &vals[1..] {
            if v > best || (v.is_nan() && !best.is_nan()) {
                best = v;
            }
        }
        best
    });
}

/// Reference average pooling.
pub fn avg_pool2d_forward_naive<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], count_include_pad: bool) {
    naive_pool(g, x, y, |vals, padded_count| {
        let s = vals.iter().fold(0.0, |a, v| a + v.to_f64());
        T::from_f64(s / if count_include_pad { padded_count } else { vals.len() } as f64)
    });
}

fn naive_pool<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], f: impl Fn(&[T], usize) -> T) {
    let (oh, ow) = (g.out_h(), g.out_w());
    for b in 0..g.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..g.c {
                    let mut vals = vec![];
                    let mut padded = 0;
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let ih = (oy * g.stride_h + i) as isize - g.pad_top as isize;
                            let iw = (ox * g.stride_w + j) as isize - g.pad_left as isize;
                            if ih < (g.h + g.pad_bottom) as isize && iw < (g.w + g.pad_right) as isize {
                                padded += 1;
                            }
                            if ih >= 0 && iw >= 0 && (ih as usize) < g.h && (iw as usize) < g.w {
                                vals.push(x[((b * g.h + ih as usize) * g.w + iw as usize) * g.c + ch]);
                            }
                        }
                    }
                    y[((b * oh + oy) * ow + ox) * g.c + ch] = f(&vals, padded);
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

    fn geoms() -> Vec<Pool2dGeom> {
        let mut v = vec![];
        for &(h, w, k, s, p) in &[
            (5, 5, 2, 2, 0),
            (7, 7, 2, 2, 0),
            (5, 5, 3, 2, 1),
            (6, 5, 3, 1, 1),
            (4, 7, 2, 3, 1),
            (9, 8, 3, 3, 0),
            (1, 1, 1, 1, 0),
        ] {
            for c in [1, 3] {
                v.push(Pool2dGeom {
                    n: 2,
                    h,
                    w,
                    c,
                    kh: k,
                    kw: k,
                    stride_h: s,
                    stride_w: s,
                    pad_top: p,
                    pad_bottom: p,
                    pad_left: p,
                    pad_right: p,
                });
            }
        }
        v.push(Pool2dGeom {
            n: 1,
            h: 6,
            w: 7,
            c: 2,
            kh: 2,
            kw: 3,
            stride_h: 1,
            stride_w: 2,
            pad_top: 0,
            pad_bottom: 1,
            pad_left: 1,
            pad_right: 0,
        });
        v
    }

    #[test]
    fn pool_fast_matches_naive_forward() {
        let mut s = 11;
        for g in geoms() {
            let x: Vec<f64> = (0..g.n * g.h * g.w * g.c).map(|_| lcg(&mut s)).collect();
            let ny = g.n * g.out_h() * g.out_w() * g.c;
            let (mut y, mut yr, mut am) = (vec![0.0; ny], vec![0.0; ny], vec![0u32; ny]);
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_forward_naive(&g, &x, &mut yr);
            assert_eq!(y, yr, "max {g:?}");
            for cip in [false, true] {
                avg_pool2d_forward(&g, &x, &mut y, cip);
                avg_pool2d_forward_naive(&g, &x, &mut yr, cip);
                for (a, b) in y.iter().zip(&yr) {
                    assert!((a - b).abs() < 1e-12, "avg {g:?} {cip}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn pool_backward_is_the_adjoint_of_forward() {
        // <pool(x), dy> == <x, pool_backward(dy)> for the linear avg pool, and for max pool with
        // the argmax held fixed.
        let mut s = 5;
        for g in geoms() {
            let x: Vec<f64> = (0..g.n * g.h * g.w * g.c).map(|_| lcg(&mut s)).collect();
            let ny = g.n * g.out_h() * g.out_w() * g.c;
            let dy: Vec<f64> = (0..ny).map(|_| lcg(&mut s)).collect();
            let (mut y, mut am, mut dx) = (vec![0.0; ny], vec![0u32; ny], vec![0.0; x.len()]);
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_backward(&g, &dy, &am, &mut dx);
            assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10, "max {g:?}");
            for cip in [false, true] {
                avg_pool2d_forward(&g, &x, &mut y, cip);
                avg_pool2d_backward(&g, &dy, &mut dx, cip);
                assert!((dot(&y, &dy) - dot(&x, &dx)).abs() < 1e-10, "avg {g:?} {cip}");
            }
        }
    }

    #[test]
    fn pool_max_ties_pick_the_first_and_nan_propagates() {
        let g = Pool2dGeom {
            n: 1,
            h: 2,
            w: 2,
            c: 1,
            kh: 2,
            kw: 2,
            stride_h: 2,
            stride_w: 2,
            pad_top: 0,
            pad_bottom: 0,
            pad_left: 0,
            pad_right: 0,
        };
        let (mut y, mut am) = (vec![0f32; 1], vec![0u32; 1]);
        max_pool2d_forward(&g, &[1.0, 3.0, 3.0, 0.0], &mut y, &mut am);
        assert_eq!((y[0], am[0]), (3.0, 1));
        max_pool2d_forward(&g, &[1.0, f32::NAN, 3.0, 0.0], &mut y, &mut am);
        assert!(y[0].is_nan());
    }

    #[test]
    fn pool_large_inputs_take_the_parallel_path() {
        let g = Pool2dGeom {
            n: 8,
            h: 28,
            w: 28,
            c: 32,
            kh: 2,
            kw: 2,
            stride_h: 2,
            stride_w: 2,
            pad_top: 0,
            pad_bottom: 0,
            pad_left: 0,
            pad_right: 0,
        };
        let mut s = 3;
        let x: Vec<f32> = (0..g.n * g.h * g.w * g.c).map(|_| lcg(&mut s) as f32).collect();
        let ny = g.n * 14 * 14 * 32;
        let (mut y, mut yr, mut am) = (vec![0f32; ny], vec![0f32; ny], vec![0u32; ny]);
        max_pool2d_forward(&g, &x, &mut y, &mut am);
        max_pool2d_forward_naive(&g, &x, &mut yr);
        assert_eq!(y, yr);
    }
}
