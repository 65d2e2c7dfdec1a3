//! 2-D convolution over NHWC input with HWIO kernels, by im2col + GEMM, and its two gradients.
//!
//! The im2col matrix has one row per output pixel `(b, oy, ox)` and columns `(i, j, ci)` (kernel
//! row, kernel column, input channel of the group), which is exactly the row order of the HWIO
//! kernel seen as a `[K, f]` matrix. So `y[M, f] = cols[M, K] · W[K, f]` lands directly in NHWC.
//! The batch is processed in chunks so the im2col buffer stays near 4 MB, and that buffer is a
//! per-thread scratch reused across calls.

use super::gemm::{gemm, MatRef};
use super::Conv2dGeom;
use crate::dtype::Float;
use rayon::prelude::*;
use std::any::Any;
use std::cell::RefCell;

/// im2col elements per chunk (4 MB of f32): big enough for large GEMMs, small enough for cache.
const CHUNK_ELEMS: usize = 1 << 20;
/// Below this many elements, copying loops run on one thread.
const PAR_WORK: usize = 1 << 15;

fn check(g: &Conv2dGeom, x: usize, w: usize, y: usize, op: &str) {
    assert!(
        g.groups > 0 && g.c % g.groups == 0 && g.f % g.groups == 0,
        "{op}: channels {} / filters {} not divisible by groups {}",
        g.c,
        g.f,
        g.groups
    );
    assert!(x == g.n * g.h * g.w * g.c, "{op}: input of {x} values does not match {g:?}");
    assert!(w == g.kh * g.kw * (g.c / g.groups) * g.f, "{op}: kernel of {w} values does not match {g:?}");
    assert!(y == g.n * g.out_h() * g.out_w() * g.f, "{op}: output of {y} values does not match {g:?}");
}

/// Runs `f` on a per-thread scratch buffer of `len` elements (contents unspecified), reused
/// across calls. Falls back to a fresh buffer if the scratch is already borrowed (re-entrancy).
fn with_scratch<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
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

/// Images per chunk so that a chunk's im2col matrix has at most `max_elems` elements.
fn chunk_images(g: &Conv2dGeom, max_elems: usize) -> usize {
    let per_image = g.out_h() * g.out_w() * g.kh * g.kw * (g.c / g.groups);
    (max_elems / per_image.max(1)).clamp(1, g.n.max(1))
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

/// Fills `cols` (`[nb * oh * ow, K]`) with the patches of images `b0..b0+nb`, group `gi`.
fn im2col<T: Float>(g: &Conv2dGeom, x: &[T], b0: usize, gi: usize, cols: &mut [T]) {
    let (oh, ow, cg) = (g.out_h(), g.out_w(), g.c / g.groups);
    let k = g.kh * g.kw * cg;
    // With one group and no dilation along w, a kernel row is one contiguous run of kw*c inputs.
    let row_runs = g.groups == 1 && g.dil_w == 1;
    let row = |r: usize, dst: &mut [T]| {
        let b = b0 + r / (oh * ow);
        let (oy, ox) = ((r % (oh * ow)) / ow, r % ow);
        let xb = &x[b * g.h * g.w * g.c..][..g.h * g.w * g.c];
        let ix0 = (ox * g.stride_w) as isize - g.pad_left as isize;
        for i in 0..g.kh {
            let iy = (oy * g.stride_h + i * g.dil_h) as isize - g.pad_top as isize;
            let drow = &mut dst[i * g.kw * cg..(i + 1) * g.kw * cg];
            if iy < 0 || iy >= g.h as isize {
                drow.fill(T::ZERO);
                continue;
            }
            let src_row = &xb[iy as usize * g.w * g.c..][..g.w * g.c];
            if row_runs && ix0 >= 0 && ix0 as usize + g.kw <= g.w {
                drow.copy_from_slice(&src_row[ix0 as usize * g.c..][..g.kw * g.c]);
                continue;
            }
            for j in 0..g.kw {
                let ix = ix0 + (j * g.dil_w) as isize;
                let d = &mut drow[j * cg..(j + 1) * cg];
                if ix < 0 || ix >= g.w as isize {
                    d.fill(T::ZERO);
                } else {
                    d.copy_from_slice(&src_row[ix as usize * g.c + gi * cg..][..cg]);
                }
            }
        }
    };
    if cols.len() >= PAR_WORK {
        cols.par_chunks_mut(k).enumerate().for_each(|(r, d)| row(r, d));
    } else {
        cols.chunks_mut(k).enumerate().for_each(|(r, d)| row(r, d));
    }
}

/// Adds the patches in `cols` back into images `b0..b0+nb` of `dx` (group `gi`). Parallel over
/// images, whose regions of `dx` are disjoint.
fn col2im_add<T: Float>(g: &Conv2dGeom, cols: &[T], b0: usize, nb: usize, gi: usize, dx: &mut [T]) {
    let (oh, ow, cg) = (g.out_h(), g.out_w(), g.c / g.groups);
    let k = g.kh * g.kw * cg;
    let img = g.h * g.w * g.c;
    let image = |bl: usize, dxb: &mut [T]| {
        for p in 0..oh * ow {
            let (oy, ox) = (p / ow, p % ow);
            let src = &cols[(bl * oh * ow + p) * k..][..k];
            for i in 0..g.kh {
                let iy = (oy * g.stride_h + i * g.dil_h) as isize - g.pad_top as isize;
                if iy < 0 || iy >= g.h as isize {
                    continue;
                }
                for j in 0..g.kw {
                    let ix = (ox * g.stride_w + j * g.dil_w) as isize - g.pad_left as isize;
                    if ix < 0 || ix >= g.w as isize {
                        continue;
                    }
                    let d = &mut dxb[(iy as usize * g.w + ix as usize) * g.c + gi * cg..][..cg];
                    d.iter_mut().zip(&src[(i * g.kw + j) * cg..][..cg]).for_each(|(d, &s)| *d += s);
                }
            }
        }
    };
    let region = &mut dx[b0 * img..(b0 + nb) * img];
    if cols.len() >= PAR_WORK && nb > 1 {
        region.par_chunks_mut(img).enumerate().for_each(|(bl, d)| image(bl, d));
    } else {
        region.chunks_mut(img).enumerate().for_each(|(bl, d)| image(bl, d));
    }
}

/// The `[K, fg]` block of the kernel for group `gi`, as a strided view of the `[K, f]` matrix.
fn w_block<'a, T>(g: &Conv2dGeom, w: &'a [T], gi: usize) -> MatRef<'a, T> {
    let fg = g.f / g.groups;
    let k = g.kh * g.kw * (g.c / g.groups);
    MatRef { data: &w[gi * fg..], rows: k, cols: fg, rs: g.f, cs: 1 }
}

/// `y = conv2d(x, w)`: `x` `[n, h, w, c]`, `w` `[kh, kw, c/groups, f]`, `y` `[n, oh, ow, f]`.
pub fn conv2d_forward<T: Float>(g: &Conv2dGeom, x: &[T], w: &[T], y: &mut [T]) {
    conv2d_forward_chunked(g, x, w, y, CHUNK_ELEMS)
}

pub(crate) fn conv2d_forward_chunked<T: Float>(g: &Conv2dGeom, x: &[T], w: &[T], y: &mut [T], max_elems: usize) {
    check(g, x.len(), w.len(), y.len(), "conv2d");
    let (m_img, fg, k) = (g.out_h() * g.out_w(), g.f / g.groups, g.kh * g.kw * (g.c / g.groups));
    if is_pointwise(g) {
        gemm(y, g.f, MatRef::row_major(x, g.n * g.h * g.w, g.c), w_block(g, w, 0), false);
        return;
    }
    let per = chunk_images(g, max_elems);
    with_scratch::<T, _>(per * m_img * k, |buf| {
        for b0 in (0..g.n).step_by(per) {
            let nb = per.min(g.n - b0);
            let rows = nb * m_img;
            let cols = &mut buf[..rows * k];
            for gi in 0..g.groups {
                im2col(g, x, b0, gi, cols);
                let dst = &mut y[b0 * m_img * g.f + gi * fg..];
                gemm(dst, g.f, MatRef::row_major(cols, rows, k), w_block(g, w, gi), false);
            }
        }
    });
}

/// `dx` of `conv2d` given `dy` (overwrites `dx`). Also the forward pass of a transposed conv.
pub fn conv2d_backward_input<T: Float>(g: &Conv2dGeom, dy: &[T], w: &[T], dx: &mut [T]) {
    conv2d_backward_input_chunked(g, dy, w, dx, CHUNK_ELEMS)
}

pub(crate) fn conv2d_backward_input_chunked<T: Float>(
    g: &Conv2dGeom,
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    max_elems: usize,
) {
    check(g, dx.len(), w.len(), dy.len(), "conv2d_backward_input");
    let (m_img, fg, k) = (g.out_h() * g.out_w(), g.f / g.groups, g.kh * g.kw * (g.c / g.groups));
    if is_pointwise(g) {
        gemm(dx, g.c, MatRef::row_major(dy, g.n * m_img, g.f), w_block(g, w, 0).t(), false);
        return;
    }
    dx.fill(T::ZERO);
    let per = chunk_images(g, max_elems);
    with_scratch::<T, _>(per * m_img * k, |buf| {
        for b0 in (0..g.n).step_by(per) {
            let nb = per.min(g.n - b0);
            let rows = nb * m_img;
            let cols = &mut buf[..rows * k];
            for gi in 0..g.groups {
                let dy_block = MatRef { data: &dy[b0 * m_img * g.f + gi * fg..], rows, cols: fg, rs: g.f, cs: 1 };
                gemm(cols, k, dy_block, w_block(g, w, gi).t(), false);
                col2im_add(g, cols, b0, nb, gi, dx);
            }
        }
    });
}

/// `dw` of `conv2d` given `x` and `dy` (overwrites `dw`).
pub fn conv2d_backward_weight<T: Float>(g: &Conv2dGeom, x: &[T], dy: &[T], dw: &mut [T]) {
    conv2d_backward_weight_chunked(g, x, dy, dw, CHUNK_ELEMS)
}

pub(crate) fn conv2d_backward_weight_chunked<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    max_elems: usize,
) {
    check(g, x.len(), dw.len(), dy.len(), "conv2d_backward_weight");
    let (m_img, fg, k) = (g.out_h() * g.out_w(), g.f / g.groups, g.kh * g.kw * (g.c / g.groups));
    if is_pointwise(g) {
        gemm(dw, g.f, MatRef::row_major(x, g.n * m_img, g.c).t(), MatRef::row_major(dy, g.n * m_img, g.f), false);
        return;
    }
    if g.n == 0 {
        dw.fill(T::ZERO);
        return;
    }
    let per = chunk_images(g, max_elems);
    with_scratch::<T, _>(per * m_img * k, |buf| {
        for (ci, b0) in (0..g.n).step_by(per).enumerate() {
            let nb = per.min(g.n - b0);
            let rows = nb * m_img;
            let cols = &mut buf[..rows * k];
            for gi in 0..g.groups {
                im2col(g, x, b0, gi, cols);
                let dy_block = MatRef { data: &dy[b0 * m_img * g.f + gi * fg..], rows, cols: fg, rs: g.f, cs: 1 };
                gemm(&mut dw[gi * fg..], g.f, MatRef::row_major(cols, rows, k).t(), dy_block, ci > 0);
            }
        }
    });
}

/// Visits every (output pixel, kernel tap, in-channel, filter) of the convolution with the input
/// and kernel offsets, for the references below.
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
    let mut acc = vec![0f64; y.len()];
    naive_taps(g, |xo, wo, yo| acc[yo] += x[xo].to_f64() * w[wo].to_f64());
    y.iter_mut().zip(acc).for_each(|(y, a)| *y = T::from_f64(a));
}

/// Reference input gradient.
pub fn conv2d_backward_input_naive<T: Float>(g: &Conv2dGeom, dy: &[T], w: &[T], dx: &mut [T]) {
    let mut acc = vec![0f64; dx.len()];
    naive_taps(g, |xo, wo, yo| acc[xo] += dy[yo].to_f64() * w[wo].to_f64());
    dx.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

/// Reference weight gradient.
pub fn conv2d_backward_weight_naive<T: Float>(g: &Conv2dGeom, x: &[T], dy: &[T], dw: &mut [T]) {
    let mut acc = vec![0f64; dw.len()];
    naive_taps(g, |xo, wo, yo| acc[wo] += x[xo].to_f64() * dy[yo].to_f64());
    dw.iter_mut().zip(acc).for_each(|(d, a)| *d = T::from_f64(a));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(s: &mut u64) -> f64 {
        *s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[allow(clippy::too_many_arguments)]
    fn geom(
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        f: usize,
        k: (usize, usize),
        s: (usize, usize),
        p: [usize; 4],
        d: (usize, usize),
        groups: usize,
    ) -> Conv2dGeom {
        Conv2dGeom {
            n,
            h,
            w,
            c,
            f,
            kh: k.0,
            kw: k.1,
            stride_h: s.0,
            stride_w: s.1,
            pad_top: p[0],
            pad_bottom: p[1],
            pad_left: p[2],
            pad_right: p[3],
            dil_h: d.0,
            dil_w: d.1,
            groups,
        }
    }

    fn geoms() -> Vec<Conv2dGeom> {
        vec![
            geom(2, 7, 5, 3, 4, (3, 3), (1, 1), [0; 4], (1, 1), 1),
            geom(1, 8, 8, 1, 2, (4, 4), (2, 2), [1, 2, 1, 2], (1, 1), 1),
            geom(3, 9, 6, 4, 6, (3, 2), (2, 3), [1, 0, 2, 1], (2, 1), 2),
            geom(2, 6, 7, 4, 4, (2, 2), (1, 1), [1, 1, 1, 1], (3, 3), 4),
            geom(2, 5, 5, 3, 5, (1, 1), (1, 1), [0; 4], (1, 1), 1),
            geom(1, 5, 6, 2, 3, (1, 1), (2, 2), [1, 0, 0, 1], (1, 1), 1),
            geom(2, 4, 4, 3, 1, (4, 4), (1, 1), [0; 4], (1, 1), 1),
            geom(4, 11, 10, 2, 3, (3, 3), (1, 2), [1, 1, 0, 2], (1, 2), 1),
        ]
    }

    fn rand(n: usize, s: &mut u64) -> Vec<f64> {
        (0..n).map(|_| lcg(s)).collect()
    }

    fn close<T: Float>(a: &[T], b: &[T], tol: f64, what: &str) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let (x, y) = (x.to_f64(), y.to_f64());
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
        }
    }

    fn run<T: Float>(tol: f64, max_elems: usize) {
        let mut s = 17;
        for g in geoms() {
            let cast = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
            let x = cast(rand(g.n * g.h * g.w * g.c, &mut s));
            let w = cast(rand(g.kh * g.kw * (g.c / g.groups) * g.f, &mut s));
            let ny = g.n * g.out_h() * g.out_w() * g.f;
            let dy = cast(rand(ny, &mut s));
            let (mut y, mut yr) = (vec![T::ZERO; ny], vec![T::ZERO; ny]);
            conv2d_forward_chunked(&g, &x, &w, &mut y, max_elems);
            conv2d_forward_naive(&g, &x, &w, &mut yr);
            close(&y, &yr, tol, &format!("forward {g:?}"));
            let (mut dx, mut dxr) = (vec![T::ONE; x.len()], vec![T::ZERO; x.len()]);
            conv2d_backward_input_chunked(&g, &dy, &w, &mut dx, max_elems);
            conv2d_backward_input_naive(&g, &dy, &w, &mut dxr);
            close(&dx, &dxr, tol, &format!("backward_input {g:?}"));
            let (mut dw, mut dwr) = (vec![T::ONE; w.len()], vec![T::ZERO; w.len()]);
            conv2d_backward_weight_chunked(&g, &x, &dy, &mut dw, max_elems);
            conv2d_backward_weight_naive(&g, &x, &dy, &mut dwr);
            close(&dw, &dwr, tol, &format!("backward_weight {g:?}"));
        }
    }

    #[test]
    fn conv_fast_matches_naive_f64() {
        run::<f64>(1e-10, CHUNK_ELEMS);
    }

    #[test]
    fn conv_fast_matches_naive_f32() {
        run::<f32>(1e-4, CHUNK_ELEMS);
    }

    #[test]
    fn conv_chunked_batches_match_naive() {
        // A tiny chunk limit forces one image per chunk, exercising accumulation across chunks.
        run::<f64>(1e-10, 1);
    }

    #[test]
    fn conv_gradients_are_adjoints() {
        // <conv(x), dy> == <x, backward_input(dy)> == <w, backward_weight(x, dy)>
        let mut s = 3;
        for g in geoms() {
            let x = rand(g.n * g.h * g.w * g.c, &mut s);
            let w = rand(g.kh * g.kw * (g.c / g.groups) * g.f, &mut s);
            let ny = g.n * g.out_h() * g.out_w() * g.f;
            let dy = rand(ny, &mut s);
            let (mut y, mut dx, mut dw) = (vec![0.0; ny], vec![0.0; x.len()], vec![0.0; w.len()]);
            conv2d_forward(&g, &x, &w, &mut y);
            conv2d_backward_input(&g, &dy, &w, &mut dx);
            conv2d_backward_weight(&g, &x, &dy, &mut dw);
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
            let l = dot(&y, &dy);
            assert!((l - dot(&x, &dx)).abs() < 1e-9 * (1.0 + l.abs()), "{g:?}");
            assert!((l - dot(&w, &dw)).abs() < 1e-9 * (1.0 + l.abs()), "{g:?}");
        }
    }

    #[test]
    fn conv_large_batch_takes_parallel_paths() {
        // The benchmark shape: 32 MNIST images, 32 filters 4x4.
        let g = geom(32, 28, 28, 1, 32, (4, 4), (1, 1), [0; 4], (1, 1), 1);
        let mut s = 9;
        let x: Vec<f32> = rand(g.n * 28 * 28, &mut s).into_iter().map(|v| v as f32).collect();
        let w: Vec<f32> = rand(16 * 32, &mut s).into_iter().map(|v| v as f32).collect();
        let ny = g.n * 25 * 25 * 32;
        let (mut y, mut yr) = (vec![0f32; ny], vec![0f32; ny]);
        conv2d_forward(&g, &x, &w, &mut y);
        conv2d_forward_naive(&g, &x, &w, &mut yr);
        close(&y, &yr, 1e-4, "forward");
    }
}
