//! Max and average pooling over NHWC, any window, stride and padding (padding never wins a max).
//! Channels are the innermost loop, so every window tap is a contiguous, vectorisable run of `c`
//! values. Forward passes split the output lines `(b, oy)` across threads; backward passes split
//! images, whose gradient regions are disjoint, so overlapping windows accumulate without races.
//!
//! Why one file past 600 lines: the kernels themselves end near line 400; the rest is their
//! randomized comparisons with the naive references, kept beside the code they check.

use super::Pool2dGeom;
use crate::dtype::Float;
use crate::kernels::simd::vectorized;
use crate::runtime::threads_here;
use rayon::prelude::*;

/// Below this many elements a loop stays on one thread (fork/join costs more).
const PAR_WORK: usize = 1 << 15;

/// `argmax` of an output whose window lies entirely in padding: its gradient goes nowhere.
pub(crate) const NO_INPUT: u32 = u32::MAX;

fn check(g: &Pool2dGeom, x: usize, y: usize, op: &str) -> (usize, usize) {
    assert!(
        g.kh > 0 && g.kw > 0 && g.stride_h > 0 && g.stride_w > 0,
        "{op}: window and stride must be positive, got {g:?}"
    );
    let (oh, ow) = (g.out_h(), g.out_w());
    let (xs, ys) = (g.n * g.h * g.w * g.c, g.n * oh * ow * g.c);
    assert!(x == xs, "{op}: input has {x} values, expected [{}, {}, {}, {}] = {xs}", g.n, g.h, g.w, g.c);
    assert!(y == ys, "{op}: output has {y} values, expected [{}, {oh}, {ow}, {}] = {ys}", g.n, g.c);
    (oh, ow)
}

/// In-bounds input range `start..end` of output `o` along one axis (empty if all padding).
#[inline]
fn window(o: usize, stride: usize, pad: usize, k: usize, len: usize) -> (usize, usize) {
    let lo = (o * stride) as isize - pad as isize;
    let end = (lo + k as isize).clamp(0, len as isize) as usize;
    (lo.clamp(0, len as isize) as usize, end)
}

/// The divisor of an average: in-bounds taps (Keras/TF `same`), or the whole window (PyTorch's
/// default `count_include_pad=True`; in floor mode a window never reaches past the padding).
#[inline]
fn avg_scale<T: Float>(g: &Pool2dGeom, (h0, h1): (usize, usize), (w0, w1): (usize, usize), cip: bool) -> T {
    let count = if cip { g.kh * g.kw } else { (h1 - h0) * (w1 - w0) };
    T::ONE / T::from_f64(count.max(1) as f64)
}

/// Runs `f(line, chunk)` over `data` cut into lines of `len`, in parallel when `data` is large.
fn for_lines<T: Send>(data: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if len == 0 {
        return;
    }
    if data.len() >= PAR_WORK && data.len() > len && threads_here() > 1 {
        data.par_chunks_mut(len).enumerate().for_each(|(i, d)| f(i, d));
    } else {
        data.chunks_mut(len).enumerate().for_each(|(i, d)| f(i, d));
    }
}

/// Max pooling. `argmax[i]` is the offset of output `i`'s maximum within its image's
/// `h * w * c` block (`(iy * w + ix) * c + ch`). Ties go to the first tap in row-major window
/// order (PyTorch); a NaN anywhere in the window makes the output NaN (the first NaN's index).
pub fn max_pool2d_forward<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    let (oh, ow) = check(g, x.len(), y.len(), "max_pool2d_forward");
    assert!(argmax.len() == y.len(), "max_pool2d_forward: argmax has {} slots for {} outputs", argmax.len(), y.len());
    let (c, img) = (g.c, g.h * g.w * g.c);
    assert!(img < NO_INPUT as usize, "max_pool2d_forward: image of {img} values overflows u32 argmax");
    // A nested fn rather than a closure so it can be `#[inline(always)]` into `vectorized`.
    #[inline(always)]
    fn line<T: Float>(g: &Pool2dGeom, x: &[T], oh: usize, ow: usize, l: usize, yl: &mut [T], al: &mut [u32]) {
        let (c, img) = (g.c, g.h * g.w * g.c);
        let (b, oy) = (l / oh, l % oh);
        let xb = &x[b * img..(b + 1) * img];
        let (h0, h1) = window(oy, g.stride_h, g.pad_top, g.kh, g.h);
        for ox in 0..ow {
            let (w0, w1) = window(ox, g.stride_w, g.pad_left, g.kw, g.w);
            let (yo, ao) = (&mut yl[ox * c..(ox + 1) * c], &mut al[ox * c..(ox + 1) * c]);
            if h0 == h1 || w0 == w1 {
                yo.fill(T::NEG_INFINITY);
                ao.fill(NO_INPUT);
                continue;
            }
            // The window's tap offsets, once per output pixel, in a stack buffer (a cloned
            // iterator per channel block cost more than the comparisons).
            let mut buf = [0usize; 64];
            let mut heap = Vec::new();
            let n_taps = (h1 - h0) * (w1 - w0);
            let taps: &mut [usize] = if n_taps <= buf.len() {
                &mut buf[..n_taps]
            } else {
                heap.resize(n_taps, 0);
                &mut heap
            };
            for (t, (ih, iw)) in taps.iter_mut().zip((h0..h1).flat_map(|ih| (w0..w1).map(move |iw| (ih, iw)))) {
                *t = (ih * g.w + iw) * c;
            }
            // Channels in register blocks of 16 (one AVX-512 vector), 8, then one at a time.
            let mut c0 = 0;
            while c0 + 16 <= c {
                max_block::<T, 16>(xb, taps, c0, &mut yo[c0..c0 + 16], &mut ao[c0..c0 + 16]);
                c0 += 16;
            }
            while c0 + 8 <= c {
                max_block::<T, 8>(xb, taps, c0, &mut yo[c0..c0 + 8], &mut ao[c0..c0 + 8]);
                c0 += 8;
            }
            for ch in c0..c {
                max_block::<T, 1>(xb, taps, ch, &mut yo[ch..ch + 1], &mut ao[ch..ch + 1]);
            }
        }
    }
    // Output lines zipped with their argmax lines (`for_lines` takes one slice).
    let len = ow * c;
    if len == 0 {
        return;
    }
    if y.len() >= PAR_WORK && y.len() > len && threads_here() > 1 {
        y.par_chunks_mut(len).zip(argmax.par_chunks_mut(len)).enumerate().for_each(|(l, (yl, al))| {
            vectorized(
                #[inline(always)]
                || line(g, x, oh, ow, l, yl, al),
            )
        });
    } else {
        // An index loop: a zip of chunk iterators folded out of line, outside the AVX-512 code.
        vectorized(
            #[inline(always)]
            || {
                for l in 0..y.len() / len {
                    line(g, x, oh, ow, l, &mut y[l * len..(l + 1) * len], &mut argmax[l * len..(l + 1) * len]);
                }
            },
        );
    }
}

/// Max pooling values only, on the calling thread: the inference path, which needs no argmax.
/// Padding never wins. With `nan_wins`, [`max_pool2d_forward`]'s rule: a NaN in the window
/// wins. Without, NaNs are skipped (a window of NaNs gives -inf): what pooling after a relu
/// gives, since relu maps NaN to 0, so the relu can be applied after the pooling instead.
pub fn max_pool2d_values<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], nan_wins: bool) {
    let (oh, ow) = check(g, x.len(), y.len(), "max_pool2d_values");
    if nan_wins {
        vectorized(
            #[inline(always)]
            || run::<T, true>(g, x, y, oh, ow),
        );
    } else {
        vectorized(
            #[inline(always)]
            || run::<T, false>(g, x, y, oh, ow),
        );
    }
    #[inline(always)]
    fn run<T: Float, const NAN_WINS: bool>(g: &Pool2dGeom, x: &[T], y: &mut [T], oh: usize, ow: usize) {
        let (c, img) = (g.c, g.h * g.w * g.c);
        for l in 0..g.n * oh {
            let (b, oy) = (l / oh, l % oh);
            let xb = &x[b * img..(b + 1) * img];
            let (h0, h1) = window(oy, g.stride_h, g.pad_top, g.kh, g.h);
            for ox in 0..ow {
                let (w0, w1) = window(ox, g.stride_w, g.pad_left, g.kw, g.w);
                let yo = &mut y[(l * ow + ox) * c..(l * ow + ox + 1) * c];
                if h0 == h1 || w0 == w1 {
                    yo.fill(T::NEG_INFINITY);
                    continue;
                }
                // Channels in register blocks, each maximum kept in locals and stored once: a
                // running maximum in `yo` itself made every tap a masked store and a reload.
                let win = Window { x0: (h0 * g.w + w0) * c, rows: h1 - h0, cols: w1 - w0, row: g.w * c, c };
                let mut c0 = 0;
                while c0 + 16 <= c {
                    max_values::<T, 16, NAN_WINS>(xb, &win, c0, &mut yo[c0..c0 + 16]);
                    c0 += 16;
                }
                while c0 + 8 <= c {
                    max_values::<T, 8, NAN_WINS>(xb, &win, c0, &mut yo[c0..c0 + 8]);
                    c0 += 8;
                }
                for ch in c0..c {
                    max_values::<T, 1, NAN_WINS>(xb, &win, ch, &mut yo[ch..ch + 1]);
                }
            }
        }
    }
}

/// The maximum and its offset over window `taps` (tap offsets in the image, at least one) for
/// channels `c0..c0 + B`. The running maximum lives in locals and is stored once, so the
/// compare-and-select compiles to vector blends rather than conditional stores.
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(v <= m)` is deliberately true for a NaN `v`.
fn max_block<T: Float, const B: usize>(xb: &[T], taps: &[usize], c0: usize, y: &mut [T], arg: &mut [u32]) {
    let first = taps[0] + c0;
    let mut best: [T; B] = xb[first..first + B].try_into().unwrap();
    let mut idx = [first as u32; B];
    for &base in &taps[1..] {
        let v: &[T; B] = xb[base + c0..base + c0 + B].try_into().unwrap();
        for e in 0..B {
            // Strictly greater keeps the first maximum; a NaN takes over a number and then
            // sticks, since nothing replaces a NaN.
            let take = !(v[e] <= best[e]) & !best[e].is_nan();
            best[e] = if take { v[e] } else { best[e] };
            idx[e] = if take { (base + c0) as u32 } else { idx[e] };
        }
    }
    y.copy_from_slice(&best);
    for (e, (a, i)) in arg.iter_mut().zip(idx).enumerate() {
        *a = i + e as u32;
    }
}

/// An in-bounds pooling window of `rows x cols` taps from offset `x0`, rows `row` values apart,
/// each tap `c` channels wide.
struct Window {
    x0: usize,
    rows: usize,
    cols: usize,
    row: usize,
    c: usize,
}

/// The maximum over `win` of channels `c0..c0 + B`, without the index: by [`max_block`]'s rule
/// with `NAN_WINS`, else skipping NaNs (starting from -inf, a plain vector max).
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(v <= m)` is deliberately true for a NaN `v`.
fn max_values<T: Float, const B: usize, const NAN_WINS: bool>(xb: &[T], win: &Window, c0: usize, y: &mut [T]) {
    let first = win.x0 + c0;
    let mut best: [T; B] = if NAN_WINS { xb[first..first + B].try_into().unwrap() } else { [T::NEG_INFINITY; B] };
    for r in 0..win.rows {
        for t in 0..win.cols {
            if NAN_WINS && r + t == 0 {
                continue;
            }
            let base = win.x0 + r * win.row + t * win.c + c0;
            let v: &[T; B] = xb[base..base + B].try_into().unwrap();
            for e in 0..B {
                if NAN_WINS {
                    let take = !(v[e] <= best[e]) & !best[e].is_nan();
                    best[e] = if take { v[e] } else { best[e] };
                } else {
                    best[e] = if v[e] > best[e] { v[e] } else { best[e] };
                }
            }
        }
    }
    y.copy_from_slice(&best);
}

/// Routes each output gradient to its recorded maximum (overwrites `dx`); overlapping windows
/// accumulate.
pub fn max_pool2d_backward<T: Float>(g: &Pool2dGeom, dy: &[T], argmax: &[u32], dx: &mut [T]) {
    let (oh, ow) = check(g, dx.len(), dy.len(), "max_pool2d_backward");
    assert!(
        argmax.len() == dy.len(),
        "max_pool2d_backward: argmax has {} slots for {} gradients",
        argmax.len(),
        dy.len()
    );
    let per_out = oh * ow * g.c;
    for_lines(dx, g.h * g.w * g.c, |b, dxb| {
        dxb.fill(T::ZERO);
        let range = b * per_out..(b + 1) * per_out;
        for (&gv, &a) in dy[range.clone()].iter().zip(&argmax[range]) {
            if a != NO_INPUT {
                dxb[a as usize] += gv;
            }
        }
    });
}

/// Average pooling; `count_include_pad = false` divides by the in-bounds taps (Keras/TF),
/// `true` by `kh * kw` (PyTorch's default).
pub fn avg_pool2d_forward<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], count_include_pad: bool) {
    let (oh, ow) = check(g, x.len(), y.len(), "avg_pool2d_forward");
    let (c, img) = (g.c, g.h * g.w * g.c);
    for_lines(y, ow * c, |l, yl| {
        let (b, oy) = (l / oh, l % oh);
        let xb = &x[b * img..(b + 1) * img];
        let hr = window(oy, g.stride_h, g.pad_top, g.kh, g.h);
        for ox in 0..ow {
            let wr = window(ox, g.stride_w, g.pad_left, g.kw, g.w);
            let yo = &mut yl[ox * c..(ox + 1) * c];
            yo.fill(T::ZERO);
            for ih in hr.0..hr.1 {
                let row = &xb[(ih * g.w + wr.0) * c..(ih * g.w + wr.1) * c];
                for tap in row.chunks_exact(c) {
                    yo.iter_mut().zip(tap).for_each(|(o, &v)| *o += v);
                }
            }
            let s = avg_scale::<T>(g, hr, wr, count_include_pad);
            yo.iter_mut().for_each(|o| *o *= s);
        }
    });
}

/// Spreads each output gradient evenly over its window's in-bounds taps (overwrites `dx`).
pub fn avg_pool2d_backward<T: Float>(g: &Pool2dGeom, dy: &[T], dx: &mut [T], count_include_pad: bool) {
    let (oh, ow) = check(g, dx.len(), dy.len(), "avg_pool2d_backward");
    let c = g.c;
    for_lines(dx, g.h * g.w * c, |b, dxb| {
        dxb.fill(T::ZERO);
        for oy in 0..oh {
            let hr = window(oy, g.stride_h, g.pad_top, g.kh, g.h);
            for ox in 0..ow {
                let wr = window(ox, g.stride_w, g.pad_left, g.kw, g.w);
                let s = avg_scale::<T>(g, hr, wr, count_include_pad);
                let go = &dy[((b * oh + oy) * ow + ox) * c..][..c];
                for ih in hr.0..hr.1 {
                    let row = &mut dxb[(ih * g.w + wr.0) * c..(ih * g.w + wr.1) * c];
                    for tap in row.chunks_exact_mut(c) {
                        tap.iter_mut().zip(go).for_each(|(d, &v)| *d += v * s);
                    }
                }
            }
        }
    });
}

/// Calls `f(out_index, taps)` for every output with the flat input indices (whole tensor) of its
/// in-bounds window taps in row-major order, and the output's image offset.
fn naive_windows(g: &Pool2dGeom, mut f: impl FnMut(usize, &[usize], usize)) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut taps = vec![];
    for b in 0..g.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..g.c {
                    taps.clear();
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let ih = (oy * g.stride_h + i) as isize - g.pad_top as isize;
                            let iw = (ox * g.stride_w + j) as isize - g.pad_left as isize;
                            if ih >= 0 && iw >= 0 && (ih as usize) < g.h && (iw as usize) < g.w {
                                taps.push(((b * g.h + ih as usize) * g.w + iw as usize) * g.c + ch);
                            }
                        }
                    }
                    f(((b * oh + oy) * ow + ox) * g.c + ch, &taps, b * g.h * g.w * g.c);
                }
            }
        }
    }
}

/// The first maximum of `taps`, a NaN beating any number; `None` for an empty window.
fn naive_argmax<T: Float>(x: &[T], taps: &[usize]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for &t in taps {
        best = match best {
            Some(b) if !(x[t] > x[b] || (x[t].is_nan() && !x[b].is_nan())) => Some(b),
            _ => Some(t),
        };
    }
    best
}

/// Reference max pooling, straight from the definition.
pub fn max_pool2d_forward_naive<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    check(g, x.len(), y.len(), "max_pool2d_forward_naive");
    naive_windows(g, |o, taps, img| match naive_argmax(x, taps) {
        Some(t) => (y[o], argmax[o]) = (x[t], (t - img) as u32),
        None => (y[o], argmax[o]) = (T::NEG_INFINITY, NO_INPUT),
    });
}

/// Reference max-pool gradient, recomputing each window's maximum from `x`.
pub fn max_pool2d_backward_naive<T: Float>(g: &Pool2dGeom, x: &[T], dy: &[T], dx: &mut [T]) {
    check(g, x.len(), dy.len(), "max_pool2d_backward_naive");
    assert!(dx.len() == x.len(), "max_pool2d_backward_naive: dx has {} values, x {}", dx.len(), x.len());
    let mut acc = vec![0f64; dx.len()];
    naive_windows(g, |o, taps, _| {
        if let Some(t) = naive_argmax(x, taps) {
            acc[t] += dy[o].to_f64();
        }
    });
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

/// Reference average pooling, accumulating in f64.
pub fn avg_pool2d_forward_naive<T: Float>(g: &Pool2dGeom, x: &[T], y: &mut [T], count_include_pad: bool) {
    check(g, x.len(), y.len(), "avg_pool2d_forward_naive");
    naive_windows(g, |o, taps, _| {
        let s: f64 = taps.iter().map(|&t| x[t].to_f64()).sum();
        let count = if count_include_pad { g.kh * g.kw } else { taps.len() };
        y[o] = T::from_f64(s / count.max(1) as f64);
    });
}

/// Reference average-pool gradient.
pub fn avg_pool2d_backward_naive<T: Float>(g: &Pool2dGeom, dy: &[T], dx: &mut [T], count_include_pad: bool) {
    check(g, dx.len(), dy.len(), "avg_pool2d_backward_naive");
    let mut acc = vec![0f64; dx.len()];
    naive_windows(g, |o, taps, _| {
        let count = if count_include_pad { g.kh * g.kw } else { taps.len() };
        for &t in taps {
            acc[t] += dy[o].to_f64() / count.max(1) as f64;
        }
    });
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::{assert_close as same, pick, rand};

    fn geom(
        n: usize,
        (h, w, c): (usize, usize, usize),
        (kh, kw): (usize, usize),
        s: (usize, usize),
        p: [usize; 4],
    ) -> Pool2dGeom {
        let [pad_top, pad_bottom, pad_left, pad_right] = p;
        Pool2dGeom { n, h, w, c, kh, kw, stride_h: s.0, stride_w: s.1, pad_top, pad_bottom, pad_left, pad_right }
    }

    /// Overlapping (k=3, s=2), k > s, k < s, padding, asymmetric windows, then random ones.
    fn geoms() -> Vec<Pool2dGeom> {
        let mut v = vec![
            geom(2, (5, 5, 3), (2, 2), (2, 2), [0; 4]),
            geom(2, (7, 7, 1), (2, 2), (2, 2), [0; 4]),
            geom(2, (7, 5, 3), (3, 3), (2, 2), [1; 4]),
            geom(1, (6, 5, 2), (3, 3), (1, 1), [1; 4]),
            geom(3, (4, 7, 3), (2, 2), (3, 3), [1; 4]),
            geom(1, (9, 8, 4), (3, 3), (3, 3), [0; 4]),
            geom(1, (1, 1, 1), (1, 1), (1, 1), [0; 4]),
            geom(1, (6, 7, 2), (2, 3), (1, 2), [0, 1, 1, 0]),
            geom(2, (5, 6, 3), (4, 4), (1, 1), [1, 2, 2, 1]),
        ];
        let mut s = 99;
        while v.len() < 80 {
            let (kh, kw) = (pick(&mut s, 1, 4), pick(&mut s, 1, 4));
            let g = geom(
                pick(&mut s, 1, 3),
                (pick(&mut s, 1, 9), pick(&mut s, 1, 9), [1, 2, 3, 8, 17, 24][pick(&mut s, 0, 5)]),
                (kh, kw),
                (pick(&mut s, 1, 3), pick(&mut s, 1, 3)),
                [pick(&mut s, 0, kh - 1), pick(&mut s, 0, kh - 1), pick(&mut s, 0, kw - 1), pick(&mut s, 0, kw - 1)],
            );
            if g.out_h() > 0 && g.out_w() > 0 {
                v.push(g);
            }
        }
        v
    }

    /// Fast against naive on every geometry; outputs start as garbage to prove they are overwritten.
    fn check_all<T: Float>(tol: f64, nan_every: usize, seed: u64) {
        let mut s = seed;
        for g in geoms() {
            let mut x = rand::<T>(g.n * g.h * g.w * g.c, &mut s);
            if nan_every > 0 {
                x.iter_mut().step_by(nan_every).for_each(|v| *v = T::from_f64(f64::NAN));
            }
            let ny = g.n * g.out_h() * g.out_w() * g.c;
            let dy = rand::<T>(ny, &mut s);
            let junk = T::from_f64(7.5);
            let (mut y, mut yr, mut am, mut amr) = (vec![junk; ny], vec![junk; ny], vec![5u32; ny], vec![5u32; ny]);
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_forward_naive(&g, &x, &mut yr, &mut amr);
            same(&y, &yr, 0.0, &format!("max {g:?}"));
            assert_eq!(am, amr, "argmax {g:?}");
            // Values only: NaN wins as above, or NaNs are skipped (the naive max with NaN as -inf).
            let mut yv = vec![junk; ny];
            max_pool2d_values(&g, &x, &mut yv, true);
            same(&yv, &yr, 0.0, &format!("max values {g:?}"));
            let skipped: Vec<T> = x.iter().map(|&v| if v.is_nan() { T::NEG_INFINITY } else { v }).collect();
            max_pool2d_forward_naive(&g, &skipped, &mut yr, &mut amr);
            max_pool2d_values(&g, &x, &mut yv, false);
            same(&yv, &yr, 0.0, &format!("max values skipping NaN {g:?}"));
            let (mut dx, mut dxr) = (vec![junk; x.len()], vec![junk; x.len()]);
            max_pool2d_backward(&g, &dy, &am, &mut dx);
            max_pool2d_backward_naive(&g, &x, &dy, &mut dxr);
            same(&dx, &dxr, tol, &format!("max backward {g:?}"));
            for cip in [false, true] {
                avg_pool2d_forward(&g, &x, &mut y, cip);
                avg_pool2d_forward_naive(&g, &x, &mut yr, cip);
                same(&y, &yr, tol, &format!("avg {g:?} {cip}"));
                avg_pool2d_backward(&g, &dy, &mut dx, cip);
                avg_pool2d_backward_naive(&g, &dy, &mut dxr, cip);
                same(&dx, &dxr, tol, &format!("avg backward {g:?} {cip}"));
            }
        }
    }

    #[test]
    fn pool_fast_matches_naive_f64() {
        check_all::<f64>(1e-12, 0, 11);
    }

    #[test]
    fn pool_fast_matches_naive_f32() {
        check_all::<f32>(1e-5, 0, 12);
    }

    #[test]
    fn pool_nan_propagates_like_naive() {
        // Every 7th input is NaN: the windows that hold one must give NaN (max and avg alike).
        check_all::<f32>(1e-5, 7, 13);
        let g = geom(1, (2, 2, 1), (2, 2), (2, 2), [0; 4]);
        let (mut y, mut am) = ([0f32], [0u32]);
        for x in [[f32::NAN, 1.0, 2.0, 3.0], [1.0, 2.0, f32::NAN, 0.0], [5.0, 4.0, 3.0, f32::NAN]] {
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            assert!(y[0].is_nan() && x[am[0] as usize].is_nan(), "{x:?}");
        }
    }

    #[test]
    fn pool_max_ties_go_to_the_first_tap() {
        let g = geom(1, (2, 2, 1), (2, 2), (2, 2), [0; 4]);
        let (mut y, mut am) = ([0f32], [0u32]);
        max_pool2d_forward(&g, &[1.0, 3.0, 3.0, 0.0], &mut y, &mut am);
        assert_eq!((y[0], am[0]), (3.0, 1));
        // Constant input with overlapping padded windows and 2 channels: always the first
        // in-bounds tap of each window, and the gradient lands there.
        let g = geom(1, (4, 4, 2), (3, 3), (2, 2), [1; 4]);
        let ny = g.out_h() * g.out_w() * 2;
        let (mut y, mut am) = (vec![0f64; ny], vec![0u32; ny]);
        max_pool2d_forward(&g, &[2.0; 32], &mut y, &mut am);
        assert_eq!(am, vec![0, 1, 2, 3, 8, 9, 10, 11]);
        let mut dx = vec![0f64; 32];
        max_pool2d_backward(&g, &vec![1.0; ny], &am, &mut dx);
        assert_eq!(dx.iter().sum::<f64>(), ny as f64);
    }

    #[test]
    fn pool_backward_is_the_adjoint_of_forward() {
        // <pool(x), dy> == <x, pool_backward(dy)> for avg pooling, and for max pooling with the
        // argmax held fixed.
        let mut s = 5;
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        for g in geoms() {
            let x = rand::<f64>(g.n * g.h * g.w * g.c, &mut s);
            let ny = g.n * g.out_h() * g.out_w() * g.c;
            let dy = rand::<f64>(ny, &mut s);
            let (mut y, mut am, mut dx) = (vec![0.0; ny], vec![0u32; ny], vec![0.0; x.len()]);
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
    fn pool_count_include_pad_divisors() {
        // 2x2 ones, 2x2 window, stride 1, padding 1 all round: the corner window holds one tap.
        let g = geom(1, (2, 2, 1), (2, 2), (1, 1), [1; 4]);
        let mut y = vec![0f32; 9];
        avg_pool2d_forward(&g, &[1.0; 4], &mut y, false);
        assert!(y.iter().all(|&v| v == 1.0), "{y:?}");
        avg_pool2d_forward(&g, &[1.0; 4], &mut y, true);
        assert_eq!(y, vec![0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]);
    }

    #[test]
    fn pool_window_entirely_in_padding_routes_nowhere() {
        let g = geom(1, (1, 3, 1), (1, 2), (1, 2), [0, 0, 2, 0]);
        let (mut y, mut am) = (vec![0f32; 2], vec![0u32; 2]);
        max_pool2d_forward(&g, &[1.0, 2.0, 3.0], &mut y, &mut am);
        assert_eq!((y[0], am[0]), (f32::NEG_INFINITY, NO_INPUT));
        assert_eq!((y[1], am[1]), (2.0, 1));
        let mut dx = vec![9f32; 3];
        max_pool2d_backward(&g, &[1.0, 1.0], &am, &mut dx);
        assert_eq!(dx, vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn pool_large_inputs_take_the_parallel_paths() {
        let mut s = 3;
        for g in [geom(8, (28, 28, 32), (2, 2), (2, 2), [0; 4]), geom(4, (27, 26, 16), (3, 3), (2, 2), [1; 4])] {
            let x = rand::<f32>(g.n * g.h * g.w * g.c, &mut s);
            let ny = g.n * g.out_h() * g.out_w() * g.c;
            let dy = rand::<f32>(ny, &mut s);
            let (mut y, mut yr, mut am, mut amr) = (vec![0f32; ny], vec![0f32; ny], vec![0u32; ny], vec![0u32; ny]);
            max_pool2d_forward(&g, &x, &mut y, &mut am);
            max_pool2d_forward_naive(&g, &x, &mut yr, &mut amr);
            assert!(y == yr && am == amr);
            let (mut dx, mut dxr) = (vec![0f32; x.len()], vec![0f32; x.len()]);
            max_pool2d_backward(&g, &dy, &am, &mut dx);
            max_pool2d_backward_naive(&g, &x, &dy, &mut dxr);
            same(&dx, &dxr, 1e-5, "max backward");
            avg_pool2d_forward(&g, &x, &mut y, false);
            avg_pool2d_forward_naive(&g, &x, &mut yr, false);
            same(&y, &yr, 1e-5, "avg");
            avg_pool2d_backward(&g, &dy, &mut dx, true);
            avg_pool2d_backward_naive(&g, &dy, &mut dxr, true);
            same(&dx, &dxr, 1e-5, "avg backward");
        }
    }

    #[test]
    #[should_panic(expected = "max_pool2d_forward: output has 3 values")]
    fn pool_rejects_mismatched_output() {
        let g = geom(1, (4, 4, 1), (2, 2), (2, 2), [0; 4]);
        max_pool2d_forward(&g, &[0f32; 16], &mut [0f32; 3], &mut [0u32; 3]);
    }
}
