//! 2-D convolution over NHWC input with HWIO kernels, by im2col + GEMM, and its two gradients.
//!
//! The im2col matrix has one row per output pixel `(b, oy, ox)` and columns `(i, j, ci)` (kernel
//! row, kernel column, input channel of the group): exactly the row order of the HWIO kernel seen
//! as a `[K, f]` matrix, so `y[M, f] = cols[M, K] · W[K, f]` lands directly in NHWC.
//!
//! Work proceeds in chunks of whole output lines `(b, oy)` so the im2col matrix stays under
//! [`CHUNK_ELEMS`] (a 1-line minimum), held in a per-thread scratch buffer reused across calls.
//!
//! Why one file past 600 lines: the kernels themselves end near line 475; the rest is their
//! randomized comparisons with the naive references, kept beside the code they check.

use super::gemm::{gemm, MatRef};
use super::Conv2dGeom;
use crate::dtype::Float;
use crate::runtime::threads_here;
use rayon::prelude::*;
use std::any::Any;
use std::cell::RefCell;

/// im2col elements per chunk (4 MiB of f32): large GEMMs, bounded memory.
const CHUNK_ELEMS: usize = 1 << 20;
/// Below this many elements a copy/scatter loop stays on one thread (fork/join costs more).
pub(super) const PAR_WORK: usize = 1 << 15;

/// Derived sizes of a geometry.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) cg: usize,
    pub(super) fg: usize,
    /// im2col columns: `kh * kw * cg`.
    pub(super) k: usize,
}

pub(super) fn dims(g: &Conv2dGeom, x: usize, w: usize, y: usize, op: &str) -> Dims {
    assert!(
        g.kh > 0 && g.kw > 0 && g.stride_h > 0 && g.stride_w > 0 && g.dil_h > 0 && g.dil_w > 0,
        "{op}: kernel size, stride and dilation must be positive, got {g:?}"
    );
    assert!(
        g.groups > 0 && g.c % g.groups == 0 && g.f % g.groups == 0,
        "{op}: channels {} and filters {} must be divisible by groups {}",
        g.c,
        g.f,
        g.groups
    );
    let (oh, ow, cg) = (g.out_h(), g.out_w(), g.c / g.groups);
    let d = Dims { oh, ow, cg, fg: g.f / g.groups, k: g.kh * g.kw * cg };
    let (xs, ws, ys) = (g.n * g.h * g.w * g.c, g.kh * g.kw * cg * g.f, g.n * oh * ow * g.f);
    assert!(x == xs, "{op}: input has {x} values, expected [{}, {}, {}, {}] = {xs}", g.n, g.h, g.w, g.c);
    assert!(w == ws, "{op}: kernel has {w} values, expected [{}, {}, {cg}, {}] = {ws}", g.kh, g.kw, g.f);
    assert!(y == ys, "{op}: output has {y} values, expected [{}, {oh}, {ow}, {}] = {ys}", g.n, g.f);
    d
}

/// Runs `f` on a per-thread scratch buffer of `len` elements (contents unspecified), reused
/// across calls so a warm caller never allocates. Falls back to a fresh buffer when the scratch
/// is already borrowed, which happens if rayon runs another conv on this thread while it waits.
pub(super) fn with_scratch<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    thread_local! {
        static BUFS: RefCell<(Vec<f32>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }
    BUFS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let (a, b) = &mut *bufs;
            let v: &mut Vec<T> = match (a as &mut dyn Any).downcast_mut::<Vec<T>>() {
                Some(v) => v,
                None => (b as &mut dyn Any).downcast_mut::<Vec<T>>().expect("Float is f32 or f64"),
            };
            if v.len() < len {
                v.resize(len, T::ZERO);
            }
            f(&mut v[..len])
        }
        Err(_) => f(&mut vec![T::ZERO; len]),
    })
}

/// Calls `f(l0, l1, cols)` for chunks of output lines `(b, oy)` in `l0..l1`, sized so that
/// `cols` (`[(l1 - l0) * ow, K]`, scratch with unspecified contents) has at most `max` elements,
/// or one line.
fn for_chunks<T: Float>(g: &Conv2dGeom, d: Dims, max: usize, mut f: impl FnMut(usize, usize, &mut [T])) {
    let lines = g.n * d.oh;
    let per = (max / (d.ow * d.k).max(1)).clamp(1, lines.max(1));
    with_scratch::<T, _>(per * d.ow * d.k, |buf| {
        for l0 in (0..lines).step_by(per) {
            let l1 = (l0 + per).min(lines);
            f(l0, l1, &mut buf[..(l1 - l0) * d.ow * d.k]);
        }
    });
}

/// 1x1, stride 1, no padding, one group: the input already is the im2col matrix.
fn is_pointwise(g: &Conv2dGeom) -> bool {
    g.kh == 1
        && g.kw == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.pad_top + g.pad_bottom + g.pad_left + g.pad_right == 0
        && g.groups == 1
}

/// Kernel taps `j` whose input column `ix0 + j * dil` lies in `0..len`, as a range `j0..j1`.
#[inline]
fn tap_range(ix0: isize, dil: usize, k: usize, len: usize) -> (usize, usize) {
    // Called per output pixel: keep integer division off the common undilated path.
    let (lo, hi) = (-ix0, len as isize - ix0);
    let (j0, j1) = if dil == 1 {
        (lo.max(0), hi.max(0))
    } else {
        let dil = dil as isize;
        ((lo.max(0) + dil - 1) / dil, (hi.max(0) + dil - 1) / dil)
    };
    let j1 = (j1 as usize).min(k);
    ((j0 as usize).min(j1), j1)
}

/// Calls `f(i, iy)` for kernel rows `i` of output row `oy` that fall inside the image.
#[inline]
fn rows_in(g: &Conv2dGeom, oy: usize, mut f: impl FnMut(usize, usize)) {
    let iy0 = (oy * g.stride_h) as isize - g.pad_top as isize;
    let (i0, i1) = tap_range(iy0, g.dil_h, g.kh, g.h);
    for i in i0..i1 {
        f(i, (iy0 + (i * g.dil_h) as isize) as usize);
    }
}

/// With one group and no column dilation, the in-bounds taps of a kernel row are one contiguous
/// run of input, so copies and adds go a whole run at a time.
fn runs_contiguous(g: &Conv2dGeom) -> bool {
    g.groups == 1 && g.dil_w == 1
}

/// Output columns `ox` whose whole kernel row lies inside the image, as a range `lo..hi`
/// (possibly empty). These take the strided fast path in im2col and col2im.
fn interior_cols(g: &Conv2dGeom, ow: usize) -> (usize, usize) {
    let span = g.dil_w * (g.kw - 1) + 1;
    let lo = g.pad_left.div_ceil(g.stride_w).min(ow);
    let hi = if g.w + g.pad_left >= span { ((g.w + g.pad_left - span) / g.stride_w + 1).min(ow) } else { 0 };
    (lo, hi.max(lo))
}

/// For a border pixel `ox` (some taps in padding) and kernel row `i`: calls `run(col_off,
/// x_off, len)` for each run of in-bounds taps, `col_off` within the pixel's im2col row and
/// `x_off` within the input row.
#[inline(always)]
fn border_runs(g: &Conv2dGeom, cg: usize, gi: usize, ox: usize, i: usize, mut run: impl FnMut(usize, usize, usize)) {
    let krow = g.kw * cg;
    let ix0 = (ox * g.stride_w) as isize - g.pad_left as isize;
    let (j0, j1) = tap_range(ix0, g.dil_w, g.kw, g.w);
    if runs_contiguous(g) {
        if j1 > j0 {
            run(i * krow + j0 * cg, (ix0 + j0 as isize) as usize * g.c, (j1 - j0) * cg);
        }
    } else {
        for j in j0..j1 {
            run(i * krow + j * cg, (ix0 + (j * g.dil_w) as isize) as usize * g.c + gi * cg, cg);
        }
    }
}

/// Fills `cols` (`[(l1 - l0) * ow, K]`) with the patches of output lines `l0..l1` for group `gi`.
pub(super) fn im2col<T: Float>(g: &Conv2dGeom, d: Dims, x: &[T], l0: usize, gi: usize, cols: &mut [T]) {
    let img = g.h * g.w * g.c;
    let (krow, row_len) = (g.kw * d.cg, g.w * g.c);
    let (a, b) = interior_cols(g, d.ow);
    let line = |l: usize, dst: &mut [T]| {
        let (n, oy) = (l / d.oh, l % d.oh);
        let xb = &x[n * img..(n + 1) * img];
        // Kernel rows i0..i1 fall inside the image; the rest are zero for the whole line.
        let iy0 = (oy * g.stride_h) as isize - g.pad_top as isize;
        let (i0, i1) = tap_range(iy0, g.dil_h, g.kh, g.h);
        let iy = |i: usize| (iy0 + (i * g.dil_h) as isize) as usize;
        if i0 > 0 || i1 < g.kh {
            for drow in dst.chunks_exact_mut(d.k) {
                zero(&mut drow[..i0 * krow]);
                zero(&mut drow[i1 * krow..]);
            }
        }
        for ox in (0..a).chain(b..d.ow) {
            let drow = &mut dst[ox * d.k..(ox + 1) * d.k];
            zero(&mut drow[i0 * krow..i1 * krow]);
            for i in i0..i1 {
                let src = &xb[iy(i) * row_len..(iy(i) + 1) * row_len];
                border_runs(g, d.cg, gi, ox, i, |o, s, len| copy_run(&mut drow[o..o + len], &src[s..s + len]));
            }
        }
        if a < b {
            let (count, sx) = (b - a, (a * g.stride_w - g.pad_left) * g.c);
            for i in i0..i1 {
                let src = &xb[iy(i) * row_len..(iy(i) + 1) * row_len];
                let dst = &mut dst[a * d.k + i * krow..];
                if runs_contiguous(g) {
                    strided::<T, false>(dst, d.k, &src[sx..], g.stride_w * g.c, count, krow);
                } else {
                    for j in 0..g.kw {
                        let s0 = sx + j * g.dil_w * g.c + gi * d.cg;
                        strided::<T, false>(&mut dst[j * d.cg..], d.k, &src[s0..], g.stride_w * g.c, count, d.cg);
                    }
                }
            }
        }
    };
    let per_line = d.ow * d.k;
    if per_line == 0 {
        return;
    }
    if cols.len() >= PAR_WORK && cols.len() > per_line && threads_here() > 1 {
        cols.par_chunks_mut(per_line).enumerate().for_each(|(r, c)| line(l0 + r, c));
    } else {
        cols.chunks_mut(per_line).enumerate().for_each(|(r, c)| line(l0 + r, c));
    }
}

/// Adds the patches in `cols` (output lines `l0..l1`, group `gi`) back into `dx`. Parallel over
/// images, whose regions of `dx` are disjoint.
pub(super) fn col2im_add<T: Float>(g: &Conv2dGeom, d: Dims, cols: &[T], l0: usize, l1: usize, gi: usize, dx: &mut [T]) {
    let img = g.h * g.w * g.c;
    let (krow, row_len) = (g.kw * d.cg, g.w * g.c);
    let (a, b) = interior_cols(g, d.ow);
    let image = |n: usize, dxb: &mut [T]| {
        for l in l0.max(n * d.oh)..l1.min((n + 1) * d.oh) {
            let line = &cols[(l - l0) * d.ow * d.k..(l - l0 + 1) * d.ow * d.k];
            rows_in(g, l % d.oh, |i, iy| {
                let drow = &mut dxb[iy * row_len..(iy + 1) * row_len];
                for ox in (0..a).chain(b..d.ow) {
                    let src = &line[ox * d.k..(ox + 1) * d.k];
                    border_runs(g, d.cg, gi, ox, i, |o, s, len| add_run(&mut drow[s..s + len], &src[o..o + len]));
                }
                if a < b {
                    let (count, sx) = (b - a, (a * g.stride_w - g.pad_left) * g.c);
                    let src = &line[a * d.k + i * krow..];
                    if runs_contiguous(g) {
                        strided::<T, true>(&mut drow[sx..], g.stride_w * g.c, src, d.k, count, krow);
                    } else {
                        for j in 0..g.kw {
                            let s0 = sx + j * g.dil_w * g.c + gi * d.cg;
                            strided::<T, true>(&mut drow[s0..], g.stride_w * g.c, &src[j * d.cg..], d.k, count, d.cg);
                        }
                    }
                }
            });
        }
    };
    let (n0, n1) = (l0 / d.oh, l1.div_ceil(d.oh));
    let region = &mut dx[n0 * img..n1 * img];
    if cols.len() >= PAR_WORK && n1 - n0 > 1 && threads_here() > 1 {
        region.par_chunks_mut(img).enumerate().for_each(|(i, r)| image(n0 + i, r));
    } else {
        region.chunks_mut(img).enumerate().for_each(|(i, r)| image(n0 + i, r));
    }
}

/// Runs of 1 to 16 elements (a kernel row of a 1- or 3-channel input) are the common case, and a
/// `memcpy` call or a generic loop per run costs more than the move itself; so short lengths get
/// code specialised to a constant `$n` (a few vector moves), long ones the `_` arm.
macro_rules! by_len {
    ($len:expr, $n:ident => $short:expr, _ => $long:expr) => {
        by_len!(@arms $len, $n, $short, $long; 1 2 3 4 5 6 8 9 12 15 16)
    };
    (@arms $len:expr, $n:ident, $short:expr, $long:expr; $($k:literal)*) => {
        match $len {
            0 => {}
            $($k => {
                const $n: usize = $k;
                $short
            })*
            _ => $long,
        }
    };
}

/// `count` runs of `len`: `dst[t*ds..][..len]` gets (or, with `ADD`, accumulates)
/// `src[t*ss..][..len]`.
#[inline(always)]
fn strided<T: Float, const ADD: bool>(dst: &mut [T], ds: usize, src: &[T], ss: usize, count: usize, len: usize) {
    by_len!(len, N => strided_n::<T, N, ADD>(dst, ds, src, ss, count), _ => {
        for t in 0..count {
            let (d, s) = (&mut dst[t * ds..t * ds + len], &src[t * ss..t * ss + len]);
            if ADD { add_slices(d, s) } else { d.copy_from_slice(s) }
        }
    })
}

#[inline(always)]
fn strided_n<T: Float, const N: usize, const ADD: bool>(dst: &mut [T], ds: usize, src: &[T], ss: usize, count: usize) {
    if ds >= N && ss >= N {
        // Chunk iterators instead of `t * ds` indexing leave one cheap length check per run.
        for (d, s) in dst.chunks_mut(ds).zip(src.chunks(ss)).take(count) {
            run_n::<T, N, ADD>(d, s);
        }
    } else if ds >= N && ss == 1 && count > 0 {
        // Overlapping source runs one value apart (a one-channel input at stride 1): sliding
        // windows, which need no bounds check per run. The last run may end before a whole
        // `ds`, so it goes on its own.
        let last = count - 1;
        for (d, s) in dst.chunks_exact_mut(ds).zip(src.windows(N)).take(last) {
            run_n::<T, N, ADD>(d, s);
        }
        run_n::<T, N, ADD>(&mut dst[last * ds..last * ds + N], &src[last..last + N]);
    } else {
        // Overlapping runs (a stride below the run length).
        for t in 0..count {
            run_n::<T, N, ADD>(&mut dst[t * ds..t * ds + N], &src[t * ss..t * ss + N]);
        }
    }
}

#[inline(always)]
fn run_n<T: Float, const N: usize, const ADD: bool>(d: &mut [T], s: &[T]) {
    let d: &mut [T; N] = (&mut d[..N]).try_into().unwrap();
    let s: &[T; N] = s[..N].try_into().unwrap();
    if ADD {
        for e in 0..N {
            d[e] += s[e];
        }
    } else {
        *d = *s;
    }
}

#[inline(always)]
fn copy_run<T: Float>(dst: &mut [T], src: &[T]) {
    by_len!(dst.len(), N => run_n::<T, N, false>(dst, src), _ => dst.copy_from_slice(src))
}

#[inline(always)]
fn add_run<T: Float>(dst: &mut [T], src: &[T]) {
    by_len!(dst.len(), N => run_n::<T, N, true>(dst, src), _ => add_slices(dst, src))
}

#[inline(always)]
fn zero<T: Float>(dst: &mut [T]) {
    by_len!(dst.len(), N => *<&mut [T; N]>::try_from(dst).unwrap() = [T::ZERO; N], _ => dst.fill(T::ZERO))
}

#[inline(always)]
fn add_slices<T: Float>(dst: &mut [T], src: &[T]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
}

/// The `[K, fg]` block of the kernel for group `gi`: columns `gi*fg..` of the `[K, f]` matrix.
pub(super) fn w_block<'a, T>(g: &Conv2dGeom, d: Dims, w: &'a [T], gi: usize) -> MatRef<'a, T> {
    MatRef { data: &w[gi * d.fg..], rows: d.k, cols: d.fg, rs: g.f, cs: 1 }
}

/// The `[rows, fg]` block of `dy` for output lines from `l0` and group `gi`.
fn dy_block<'a, T>(g: &Conv2dGeom, d: Dims, dy: &'a [T], l0: usize, rows: usize, gi: usize) -> MatRef<'a, T> {
    MatRef { data: &dy[l0 * d.ow * g.f + gi * d.fg..], rows, cols: d.fg, rs: g.f, cs: 1 }
}

/// `y = conv2d(x, w)`: `x` `[n, h, w, c]`, `w` `[kh, kw, c/groups, f]`, `y` `[n, oh, ow, f]`.
pub fn conv2d_forward<T: Float>(g: &Conv2dGeom, x: &[T], w: &[T], y: &mut [T]) {
    conv2d_forward_chunked(g, x, w, y, CHUNK_ELEMS)
}

/// [`conv2d_forward`] with the im2col chunk bound as a parameter, so tests can force many chunks.
pub(crate) fn conv2d_forward_chunked<T: Float>(g: &Conv2dGeom, x: &[T], w: &[T], y: &mut [T], max: usize) {
    forward_chunks(g, x, w, y, None, max, "conv2d_forward")
}

/// The forward pass chunk by chunk; with `grad = Some((dy, dw))` each chunk's patches also give
/// `dw = im2col(x)ᵀ · dy`, so the two products share one im2col.
fn forward_chunks<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    w: &[T],
    y: &mut [T],
    mut grad: Option<(&[T], &mut [T])>,
    max: usize,
    op: &str,
) {
    let d = dims(g, x.len(), w.len(), y.len(), op);
    if let Some((dy, dw)) = &grad {
        dims(g, x.len(), dw.len(), dy.len(), op);
    }
    if is_pointwise(g) || g.n * d.oh * d.ow == 0 {
        if is_pointwise(g) {
            gemm(y, g.f, MatRef::row_major(x, g.n * g.h * g.w, g.c), w_block(g, d, w, 0), false);
        }
        if let Some((dy, dw)) = grad {
            conv2d_backward_weight_chunked(g, x, dy, dw, max);
        }
        return;
    }
    for_chunks(g, d, max, |l0, l1, cols| {
        let rows = (l1 - l0) * d.ow;
        for gi in 0..g.groups {
            im2col(g, d, x, l0, gi, cols);
            let dst = &mut y[l0 * d.ow * g.f + gi * d.fg..];
            gemm(dst, g.f, MatRef::row_major(&*cols, rows, d.k), w_block(g, d, w, gi), false);
            if let Some((dy, dw)) = grad.as_mut() {
                let a = MatRef::row_major(&*cols, rows, d.k).t();
                // Chunks after the first accumulate into dw.
                gemm(&mut dw[gi * d.fg..], g.f, a, dy_block(g, d, dy, l0, rows, gi), l0 > 0);
            }
        }
    });
}

/// `dx` of `conv2d` given `dy` (overwrites `dx`). Also the forward pass of a transposed conv.
pub fn conv2d_backward_input<T: Float>(g: &Conv2dGeom, dy: &[T], w: &[T], dx: &mut [T]) {
    conv2d_backward_input_chunked(g, dy, w, dx, CHUNK_ELEMS)
}

pub(crate) fn conv2d_backward_input_chunked<T: Float>(g: &Conv2dGeom, dy: &[T], w: &[T], dx: &mut [T], max: usize) {
    let d = dims(g, dx.len(), w.len(), dy.len(), "conv2d_backward_input");
    if is_pointwise(g) {
        gemm(dx, g.c, MatRef::row_major(dy, g.n * d.oh * d.ow, g.f), w_block(g, d, w, 0).t(), false);
        return;
    }
    dx.fill(T::ZERO);
    for_chunks(g, d, max, |l0, l1, cols| {
        for gi in 0..g.groups {
            let dy_g = dy_block(g, d, dy, l0, (l1 - l0) * d.ow, gi);
            gemm(cols, d.k, dy_g, w_block(g, d, w, gi).t(), false);
            col2im_add(g, d, cols, l0, l1, gi, dx);
        }
    });
}

/// `dw` of `conv2d` given `x` and `dy` (overwrites `dw`).
pub fn conv2d_backward_weight<T: Float>(g: &Conv2dGeom, x: &[T], dy: &[T], dw: &mut [T]) {
    conv2d_backward_weight_chunked(g, x, dy, dw, CHUNK_ELEMS)
}

pub(crate) fn conv2d_backward_weight_chunked<T: Float>(g: &Conv2dGeom, x: &[T], dy: &[T], dw: &mut [T], max: usize) {
    let d = dims(g, x.len(), dw.len(), dy.len(), "conv2d_backward_weight");
    let lines = g.n * d.oh;
    if is_pointwise(g) {
        let m = lines * d.ow;
        gemm(dw, g.f, MatRef::row_major(x, m, g.c).t(), MatRef::row_major(dy, m, g.f), false);
        return;
    }
    if lines * d.ow == 0 {
        dw.fill(T::ZERO);
        return;
    }
    for_chunks(g, d, max, |l0, l1, cols| {
        let rows = (l1 - l0) * d.ow;
        for gi in 0..g.groups {
            im2col(g, d, x, l0, gi, cols);
            let a = MatRef::row_major(&*cols, rows, d.k).t();
            // Chunks after the first accumulate into dw.
            gemm(&mut dw[gi * d.fg..], g.f, a, dy_block(g, d, dy, l0, rows, gi), l0 > 0);
        }
    });
}

/// [`conv2d_forward`] and [`conv2d_backward_weight`] of the same `x` from one im2col: `y =
/// conv2d(x, w)` and `dw = im2col(x)ᵀ · dy` (both overwritten). The backward pass of a transposed
/// convolution needs exactly these two, with its output gradient as `x`; the separate calls
/// gathered the same patches twice.
pub fn conv2d_forward_and_backward_weight<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    w: &[T],
    dy: &[T],
    y: &mut [T],
    dw: &mut [T],
) {
    conv2d_forward_and_backward_weight_chunked(g, x, w, dy, y, dw, CHUNK_ELEMS)
}

pub(crate) fn conv2d_forward_and_backward_weight_chunked<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    w: &[T],
    dy: &[T],
    y: &mut [T],
    dw: &mut [T],
    max: usize,
) {
    forward_chunks(g, x, w, y, Some((dy, dw)), max, "conv2d_forward_and_backward_weight")
}

/// Visits every (input, kernel, output) offset triple that the convolution multiplies together.
fn naive_taps(g: &Conv2dGeom, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow, cg, fg) = (g.out_h(), g.out_w(), g.c / g.groups, g.f / g.groups);
    for b in 0..g.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for fo in 0..g.f {
                    let gi = fo / fg;
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let iy = (oy * g.stride_h + i * g.dil_h) as isize - g.pad_top as isize;
                            let ix = (ox * g.stride_w + j * g.dil_w) as isize - g.pad_left as isize;
                            if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                continue;
                            }
                            for ci in 0..cg {
                                let xo = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c + gi * cg + ci;
                                let wo = ((i * g.kw + j) * cg + ci) * g.f + fo;
                                let yo = ((b * oh + oy) * ow + ox) * g.f + fo;
                                f(xo, wo, yo);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reference convolution straight from the definition, accumulating in f64.
pub fn conv2d_forward_naive<T: Float>(g: &Conv2dGeom, x: &[T], w: &[T], y: &mut [T]) {
    dims(g, x.len(), w.len(), y.len(), "conv2d_forward_naive");
    let mut acc = vec![0f64; y.len()];
    naive_taps(g, |xo, wo, yo| acc[yo] += x[xo].to_f64() * w[wo].to_f64());
    y.iter_mut().zip(acc).for_each(|(y, a)| *y = T::from_f64(a));
}

/// Reference input gradient.
pub fn conv2d_backward_input_naive<T: Float>(g: &Conv2dGeom, dy: &[T], w: &[T], dx: &mut [T]) {
    dims(g, dx.len(), w.len(), dy.len(), "conv2d_backward_input_naive");
    let mut acc = vec![0f64; dx.len()];
    naive_taps(g, |xo, wo, yo| acc[xo] += dy[yo].to_f64() * w[wo].to_f64());
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

/// Reference weight gradient.
pub fn conv2d_backward_weight_naive<T: Float>(g: &Conv2dGeom, x: &[T], dy: &[T], dw: &mut [T]) {
    dims(g, x.len(), dw.len(), dy.len(), "conv2d_backward_weight_naive");
    let mut acc = vec![0f64; dw.len()];
    naive_taps(g, |xo, wo, yo| acc[wo] += x[xo].to_f64() * dy[yo].to_f64());
    dw.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

#[cfg(test)]
mod tests;
