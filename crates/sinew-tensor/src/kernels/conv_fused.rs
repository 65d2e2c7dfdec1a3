//! Convolution fused with what follows it (bias, activation, max pooling), one image at a time
//! per thread. Each image's im2col matrix and conv output `z` (`[oh * ow, f]`) live in per-thread
//! scratch (80 KB and 40 KB for the MNIST CNN, in L2), so the batch's conv output (10 MB at batch
//! 128) is never written to memory, in the forward pass or in the backward one. Threads take
//! whole images; an image's own GEMM and im2col split further only when they are large. Callers
//! use this only for images whose scratch fits [`fits`]. One group only.

use super::conv::{col2im_add, dims, im2col, w_block, with_scratch, Dims, PAR_WORK};
use super::gemm::{gemm, MatRef};
use super::pool::NO_INPUT;
use super::Conv2dGeom;
use crate::dtype::Float;
use crate::runtime::threads_here;
use rayon::prelude::*;

fn one_image(g: &Conv2dGeom, op: &str) -> Conv2dGeom {
    assert!(g.groups == 1, "{op}: one group only, got {}", g.groups);
    Conv2dGeom { n: 1, ..*g }
}

/// The largest per-image scratch (im2col matrix plus conv output, in elements) the fused path
/// takes on: 4 MiB of f32, the bound of the chunked conv's im2col. Larger images take the op
/// chain, whose buffers are bounded by chunks of output lines.
const MAX_SCRATCH: usize = 1 << 20;

/// Whether the per-image scratch of `g` fits [`MAX_SCRATCH`].
pub fn fits(g: &Conv2dGeom) -> bool {
    let (rows, k) = (g.out_h() * g.out_w(), g.kh * g.kw * g.c / g.groups.max(1));
    rows * (k + g.f) <= MAX_SCRATCH
}

/// Whether a batch is worth splitting across threads.
fn parallel(g: &Conv2dGeom, d: Dims) -> bool {
    g.n > 1 && g.n * d.oh * d.ow * d.k * g.f >= PAR_WORK * 16 && threads_here() > 1
}

/// Runs `f(b, y_b, a_b)` for every image `b`, with its slices of `y` and of `aux` (which may be
/// empty, giving empty slices), in parallel when `par`.
fn for_images<T: Float>(
    n: usize,
    y: &mut [T],
    aux: &mut [u32],
    par: bool,
    f: impl Fn(usize, &mut [T], &mut [u32]) + Sync,
) {
    let (yl, al) = (y.len() / n, aux.len() / n);
    match (par, al) {
        (true, 0) => y.par_chunks_mut(yl).enumerate().for_each(|(b, yb)| f(b, yb, &mut [])),
        (true, _) => {
            y.par_chunks_mut(yl).zip(aux.par_chunks_mut(al)).enumerate().for_each(|(b, (yb, ab))| f(b, yb, ab))
        }
        (false, 0) => y.chunks_mut(yl).enumerate().for_each(|(b, yb)| f(b, yb, &mut [])),
        (false, _) => y.chunks_mut(yl).zip(aux.chunks_mut(al)).enumerate().for_each(|(b, (yb, ab))| f(b, yb, ab)),
    }
}

/// Forward pass. With `reduced`, `epilogue(z, Some((y_b, a_b)))` turns each image's conv output
/// `z` into its slices of `y` (`y.len() / n` values, e.g. pooled) and of `argmax` (empty, or
/// `argmax.len() / n` values); without, `y` is the conv output itself, the GEMM writes `z`
/// straight into it and the epilogue gets `None`.
pub fn conv2d_forward_images<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    w: &[T],
    y: &mut [T],
    argmax: &mut [u32],
    reduced: bool,
    epilogue: impl Fn(&mut [T], Option<(&mut [T], &mut [u32])>) + Sync,
) {
    let op = "conv2d_forward_images";
    let g1 = one_image(g, op);
    let z_len = g.out_h() * g.out_w() * g.f;
    let d = dims(g, x.len(), w.len(), if reduced { g.n * z_len } else { y.len() }, op);
    if g.n == 0 || z_len == 0 {
        return;
    }
    assert!(
        y.len() % g.n == 0 && argmax.len() % g.n == 0,
        "{op}: outputs of {} and {} values are not {} images",
        y.len(),
        argmax.len(),
        g.n
    );
    let (rows, x_img) = (d.oh * d.ow, g.h * g.w * g.c);
    for_images(g.n, y, argmax, parallel(g, d), |b, yb, ab| {
        let scratch = rows * d.k + if reduced { z_len } else { 0 };
        with_scratch::<T, _>(scratch, |buf| {
            let (cols, z) = buf.split_at_mut(rows * d.k);
            im2col(&g1, d, &x[b * x_img..(b + 1) * x_img], 0, 0, cols);
            let (a, wm) = (MatRef::row_major(&*cols, rows, d.k), w_block(g, d, w, 0));
            if reduced {
                gemm(z, g.f, a, wm, false);
                epilogue(z, Some((yb, ab)));
            } else {
                gemm(yb, g.f, a, wm, false);
                epilogue(yb, None);
            }
        })
    });
}

/// Backward pass of `y = max_pool(act(conv2d(x, w) + bias))` from the pooled output `y`, its
/// gradient `gy` and the pooling's `argmax` (offsets in each image's conv output, as
/// [`super::pool::max_pool2d_forward`] records them). `dact(y)` is the activation's derivative
/// written in terms of its output. Per image, the conv output's gradient `dz` is scattered
/// from `gy`, then `dw += im2col(x)ᵀ · dz`, `db += Σ dz` and, when `dx` is given,
/// `dx = col2im(dz · wᵀ)`; `dw` and `db` are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_pool_backward<T: Float>(
    g: &Conv2dGeom,
    x: &[T],
    w: &[T],
    gy: &[T],
    y: &[T],
    argmax: &[u32],
    dact: impl Fn(T) -> T + Sync,
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) {
    let op = "conv2d_pool_backward";
    let g1 = one_image(g, op);
    let z_len = g.out_h() * g.out_w() * g.f;
    let d = dims(g, x.len(), w.len(), g.n * z_len, op);
    let f = g.f;
    assert!(
        dw.len() == d.k * f && db.len() == f,
        "{op}: dw {} / db {} for a [{}, {f}] kernel",
        dw.len(),
        db.len(),
        d.k
    );
    assert!(
        gy.len() == y.len() && argmax.len() == y.len(),
        "{op}: gy {}, y {}, argmax {}",
        gy.len(),
        y.len(),
        argmax.len()
    );
    let (rows, x_img, n) = (d.oh * d.ow, g.h * g.w * g.c, g.n);
    let mut none: Vec<T> = Vec::new();
    let (dx, want_dx) = match dx {
        Some(dx) => {
            assert!(dx.len() == x.len(), "{op}: dx has {} values for an input of {}", dx.len(), x.len());
            (dx, true)
        }
        None => (&mut none[..], false),
    };
    if n == 0 {
        dw.fill(T::ZERO);
        db.fill(T::ZERO);
        return;
    }
    let p_img = y.len() / n;
    // One image: its dz, its gradient contributions into `acc` ([dw | db]) and its dx.
    let image = |b: usize, dxb: &mut [T], acc: &mut [T]| {
        with_scratch::<T, _>(z_len + rows * d.k, |buf| {
            let (dz, cols) = buf.split_at_mut(z_len);
            dz.fill(T::ZERO);
            let (dwp, dbp) = acc.split_at_mut(d.k * f);
            let s = b * p_img..(b + 1) * p_img;
            let (gyb, yb, ab) = (&gy[s.clone()], &y[s.clone()], &argmax[s]);
            for p in 0..p_img / f {
                for (ch, db) in dbp.iter_mut().enumerate() {
                    let i = p * f + ch;
                    if ab[i] != NO_INPUT {
                        let v = gyb[i] * dact(yb[i]);
                        dz[ab[i] as usize] += v;
                        *db += v;
                    }
                }
            }
            im2col(&g1, d, &x[b * x_img..(b + 1) * x_img], 0, 0, cols);
            gemm(dwp, f, MatRef::row_major(&*cols, rows, d.k).t(), MatRef::row_major(&*dz, rows, f), true);
            if want_dx {
                // The patches' gradient reuses the im2col buffer: dcols = dz · wᵀ.
                gemm(cols, d.k, MatRef::row_major(&*dz, rows, f), w_block(g, d, w, 0).t(), false);
                dxb.fill(T::ZERO);
                col2im_add(&g1, d, cols, 0, d.oh, 0, dxb);
            }
        })
    };
    // Images in a fixed number of consecutive blocks, one accumulator each, summed in block
    // order: the gradient does not depend on how rayon schedules the blocks (a fold/reduce
    // summed in whatever order work was stolen, so two runs of one seed could differ).
    let blocks = if parallel(g, d) { threads_here().min(n) } else { 1 };
    let per = n.div_ceil(blocks);
    let block = |b0: usize, dxs: &mut [T]| {
        let mut acc = vec![T::ZERO; d.k * f + f];
        for b in b0..(b0 + per).min(n) {
            let dxb = if want_dx { &mut dxs[(b - b0) * x_img..(b - b0 + 1) * x_img] } else { &mut [][..] };
            image(b, dxb, &mut acc);
        }
        acc
    };
    let parts: Vec<Vec<T>> = if want_dx {
        dx.par_chunks_mut(per * x_img).enumerate().map(|(i, dxs)| block(i * per, dxs)).collect()
    } else {
        (0..blocks).into_par_iter().map(|i| block(i * per, &mut [])).collect()
    };
    let mut acc = vec![T::ZERO; d.k * f + f];
    for part in parts {
        acc.iter_mut().zip(&part).for_each(|(a, p)| *a += *p);
    }
    dw.copy_from_slice(&acc[..d.k * f]);
    db.copy_from_slice(&acc[d.k * f..]);
}
