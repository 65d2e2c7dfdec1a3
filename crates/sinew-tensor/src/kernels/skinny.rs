//! f32 GEMM for products with few rows: the dense and recurrent layers of a training step, where
//! one side of every product is the batch (32 to 128 rows).
//!
//! The `gemm` crate packs both operands into panels before its micro-kernel runs. At these shapes
//! the packing is a large share of the work (11-14% of b5's step), and for `dY · Wᵀ` (the input
//! gradient of a layer) it is a strided transpose of the whole weight matrix each step. Here the
//! weight matrix is never packed; the batch-sized operand is read in place or, for `dY · Wᵀ`,
//! copied once (a few thousand floats):
//!
//! - [`rows_kernel`], when `b`'s rows are contiguous (`x · W` forward, `Xᵀ · dY` for the weight
//!   gradient): the output is computed `MR` rows by `NV` vectors at a time, each step of the inner
//!   product loading `NV` vectors of one row of `b` and broadcasting `MR` elements of `a`.
//! - [`cols_kernel`], when `b`'s columns are contiguous (`dY · Wᵀ`): the transposed output is
//!   computed `MV` vectors of rows by `NC` columns at a time, so the vectors run along the batch
//!   (from a copy of `a` laid out `k`-major) and each step broadcasts `NC` elements of `b`, every
//!   one of them the next element of a row of `W` in memory.
//!
//! Both are written once over the [`Simd`] trait and compiled for AVX-512 (16 lanes, 32 vector
//! registers: 8x48 and 32x12 tiles) and for AVX2+FMA (8 lanes, 16 registers: 6x16 and 16x6).
//! `gemm.rs` decides when to call them; [`supports`] says which operands they take.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::cell::RefCell;

/// A vector of f32 lanes and the few operations the kernels need. Every method is a single
/// instruction (or two); the kernels are `#[inline(always)]` into functions compiled for the
/// matching target features, so these inline there.
pub(super) trait Simd: Copy {
    const L: usize;
    type Mask: Copy;
    unsafe fn zero() -> Self;
    unsafe fn splat(p: *const f32) -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn load_masked(p: *const f32, m: Self::Mask) -> Self;
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
    unsafe fn store(p: *mut f32, v: Self);
    unsafe fn store_masked(p: *mut f32, m: Self::Mask, v: Self);
    /// The first `n` lanes (`1 <= n <= L`).
    unsafe fn mask(n: usize) -> Self::Mask;
}

#[derive(Clone, Copy)]
pub(super) struct Z(__m512);

impl Simd for Z {
    const L: usize = 16;
    type Mask = __mmask16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Z(_mm512_setzero_ps())
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        Z(_mm512_set1_ps(*p))
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Z(_mm512_loadu_ps(p))
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __mmask16) -> Self {
        Z(_mm512_maskz_loadu_ps(m, p))
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Z(_mm512_fmadd_ps(a.0, b.0, c.0))
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Z(_mm512_add_ps(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self) {
        _mm512_storeu_ps(p, v.0)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, m: __mmask16, v: Self) {
        _mm512_mask_storeu_ps(p, m, v.0)
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }
}

#[derive(Clone, Copy)]
pub(super) struct Y(__m256);

impl Simd for Y {
    const L: usize = 8;
    type Mask = __m256i;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Y(_mm256_setzero_ps())
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        Y(_mm256_broadcast_ss(&*p))
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Y(_mm256_loadu_ps(p))
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __m256i) -> Self {
        Y(_mm256_maskload_ps(p, m))
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Y(_mm256_fmadd_ps(a.0, b.0, c.0))
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Y(_mm256_add_ps(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self) {
        _mm256_storeu_ps(p, v.0)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, m: __m256i, v: Self) {
        _mm256_maskstore_ps(p, m, v.0)
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __m256i {
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }
}

/// A product in the kernels' terms: `c[i*c_rs + j] (+)= Σ_p a[i*a_rs + p*a_cs] · b[p*b_rs + j*b_cs]`
/// for `i < m`, `j < n`, `p < k`.
#[derive(Clone, Copy)]
pub(super) struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub a_rs: usize,
    pub a_cs: usize,
    pub b: *const f32,
    pub b_rs: usize,
    pub b_cs: usize,
    pub c: *mut f32,
    pub c_rs: usize,
    pub accumulate: bool,
}

/// Which kernel takes a product of these shapes and strides on `level` (2 AVX-512, 1 AVX2), if
/// one does: few rows (a batch) against any number of columns, or any rows against a batch-long
/// inner dimension, with `b` contiguous along one side. Below 16 inner steps the column kernel's
/// copy and transposed stores cost more than its products, and the crate is as fast.
pub(super) fn supports(level: u8, p: &Product) -> Option<Kernel> {
    let nc = match level {
        2 => V4_NC,
        1 => V3_NC,
        _ => return None,
    };
    if p.k == 0 {
        return None;
    }
    // On AVX2 a column panel is 16 floats wide, so `a` is read once per 16 columns: beyond
    // 32K floats (b8's 128 x 784, re-read 49 times from L2) the crate's blocking is faster.
    let a_fits = level == 2 || p.m * p.k <= 32 * 1024;
    if p.b_cs == 1 && (p.m <= 128 || p.k <= 128) && (a_fits || p.m <= 64) {
        Some(Kernel::Rows)
    } else if p.b_rs == 1 && p.m <= 128 && p.n >= nc && p.k >= 16 && a_fits {
        Some(Kernel::Cols)
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    Rows,
    Cols,
}

/// Runs `p` with `kernel` on `level`.
///
/// # Safety
/// Every element the product reads or writes lies inside its buffer, `c` aliases neither input,
/// `supports(level, &p) == Some(kernel)`, and the CPU has `level`'s instructions.
pub(super) unsafe fn run(level: u8, kernel: Kernel, p: Product) {
    // SAFETY: passed on from the caller.
    unsafe {
        match (level, kernel) {
            (2, Kernel::Rows) => rows_v4(p),
            (2, Kernel::Cols) => cols_v4(p),
            (1, Kernel::Rows) => rows_v3(p),
            (1, Kernel::Cols) => cols_v3(p),
            _ => unreachable!("skinny: no kernel for level {level}"),
        }
    }
}

// Tiles: rows x vectors for the row kernel, vectors x columns for the column kernel. Each keeps
// its accumulators, one row (or column) of operands and a broadcast in registers: 24 + 3 + 1 of
// AVX-512's 32, 12 + 2 + 1 of AVX2's 16 (a 4x3 AVX2 tile, also 12 accumulators, spilled one to
// the stack every step and ran at half the speed).
const V4_MR: usize = 8;
const V4_NC: usize = 12;
const V3_MR: usize = 6;
const V3_NC: usize = 6;

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows_v4(p: Product) {
    unsafe { rows_kernel::<Z, V4_MR, 3>(p) }
}
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn cols_v4(p: Product) {
    unsafe { cols_kernel::<Z, 2, V4_NC>(p) }
}
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_v3(p: Product) {
    unsafe { rows_kernel::<Y, V3_MR, 2>(p) }
}
#[target_feature(enable = "avx2,fma")]
unsafe fn cols_v3(p: Product) {
    unsafe { cols_kernel::<Y, 2, V3_NC>(p) }
}

/// `b`'s rows contiguous (`b_cs == 1`). Fewer rows than `MR` run with a tile of exactly that
/// many rows, so every output element is the same chain of FMAs along `k` whatever the number
/// of rows: a prediction does not depend on the batch it was computed in.
#[inline(always)]
unsafe fn rows_kernel<V: Simd, const MR: usize, const NV: usize>(p: Product) {
    unsafe {
        if p.m >= MR {
            return rows_kernel_tiled::<V, MR, NV>(p);
        }
        match p.m {
            1 => rows_kernel_tiled::<V, 1, NV>(p),
            2 => rows_kernel_tiled::<V, 2, NV>(p),
            3 => rows_kernel_tiled::<V, 3, NV>(p),
            4 => rows_kernel_tiled::<V, 4, NV>(p),
            5 => rows_kernel_tiled::<V, 5, NV>(p),
            6 => rows_kernel_tiled::<V, 6, NV>(p),
            7 => rows_kernel_tiled::<V, 7, NV>(p),
            _ => unreachable!("skinny: {} rows below a tile of {MR}", p.m),
        }
    }
}

/// `b`'s rows contiguous (`b_cs == 1`), `m >= MR`. Column panels of `NV` vectors outermost, so a
/// panel of `b` (`k` rows of `NV * L` floats) is read from memory once and from cache by every
/// block of `MR` rows. The last row block is shifted up to end at `m` and stores only rows the
/// previous block did not; the last column panel uses fewer vectors, its last one masked.
#[inline(always)]
unsafe fn rows_kernel_tiled<V: Simd, const MR: usize, const NV: usize>(p: Product) {
    let nr = NV * V::L;
    let mut j = 0;
    while j < p.n {
        let cols = (p.n - j).min(nr);
        let vecs = cols.div_ceil(V::L);
        let tail = cols - (vecs - 1) * V::L;
        unsafe {
            match (vecs == NV, tail == V::L) {
                (true, true) => rows_panel::<V, MR, NV, false>(p, j, tail),
                (true, false) => rows_panel::<V, MR, NV, true>(p, j, tail),
                _ => match vecs {
                    1 => rows_panel::<V, MR, 1, true>(p, j, tail),
                    2 => rows_panel::<V, MR, 2, true>(p, j, tail),
                    _ => rows_panel::<V, MR, 3, true>(p, j, tail),
                },
            }
        }
        j += nr;
    }
}

#[inline(always)]
unsafe fn rows_panel<V: Simd, const MR: usize, const NV: usize, const MASKED: bool>(p: Product, j: usize, tail: usize) {
    unsafe {
        let mask = V::mask(tail);
        let bj = p.b.add(j * p.b_cs);
        let mut i = 0;
        let mut done = 0;
        while done < p.m {
            let i0 = i.min(p.m - MR);
            let mut a_row = [p.a; MR];
            for (r, a) in a_row.iter_mut().enumerate() {
                *a = p.a.add((i0 + r) * p.a_rs);
            }
            let mut acc = [[V::zero(); NV]; MR];
            let mut bp = bj;
            let mut ap = 0;
            for _ in 0..p.k {
                let mut bv = [V::zero(); NV];
                for (v, b) in bv.iter_mut().enumerate() {
                    *b = if MASKED && v == NV - 1 {
                        V::load_masked(bp.add(v * V::L), mask)
                    } else {
                        V::load(bp.add(v * V::L))
                    };
                }
                for r in 0..MR {
                    let av = V::splat(a_row[r].add(ap));
                    for v in 0..NV {
                        acc[r][v] = V::fma(av, bv[v], acc[r][v]);
                    }
                }
                bp = bp.add(p.b_rs);
                ap += p.a_cs;
            }
            for (r, row) in acc.iter().enumerate() {
                if i0 + r < done {
                    continue;
                }
                let cp = p.c.add((i0 + r) * p.c_rs + j);
                for (v, &x) in row.iter().enumerate() {
                    let at = cp.add(v * V::L);
                    if MASKED && v == NV - 1 {
                        let x = if p.accumulate { V::add(x, V::load_masked(at, mask)) } else { x };
                        V::store_masked(at, mask, x);
                    } else {
                        let x = if p.accumulate { V::add(x, V::load(at)) } else { x };
                        V::store(at, x);
                    }
                }
            }
            done = i0 + MR;
            i += MR;
        }
    }
}

thread_local! {
    /// The `k x m` copy of `a` that [`cols_kernel`] reads, kept between calls.
    static PACKED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `b`'s columns contiguous (`b_rs == 1`), `n >= NC`. `a` is first copied `k`-major with its
/// rows padded to whole vectors; the output is then computed as blocks of `MV * L` rows by `NC`
/// columns, vectors along the rows, each step broadcasting one element from each of `NC`
/// columns of `b` (consecutive in memory along `k`). Column blocks outermost, so `b` is read
/// once; the last one is shifted left to end at `n` and stores only columns not yet stored.
#[inline(always)]
unsafe fn cols_kernel<V: Simd, const MV: usize, const NC: usize>(p: Product) {
    let mp = p.m.div_ceil(V::L) * V::L;
    PACKED.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        buf.resize(mp * p.k, 0.0);
        // Rows of the copy are written in order; the reads walk down `m` rows of `a` together,
        // whose lines stay in L1 across the next 16 values of q.
        let dst = buf.as_mut_ptr();
        for q in 0..p.k {
            for i in 0..p.m {
                // SAFETY: a[i*a_rs + q*a_cs] lies in a for i < m, q < k (the caller's guarantee),
                // and q*mp + i < k*mp, the copy's length.
                unsafe { *dst.add(q * mp + i) = *p.a.add(i * p.a_rs + q * p.a_cs) };
            }
        }
        let ap = buf.as_ptr();
        let mut j = 0;
        let mut done = 0;
        while done < p.n {
            let j0 = j.min(p.n - NC);
            let mut i0 = 0;
            while i0 < mp {
                let vecs = ((mp - i0) / V::L).min(MV);
                // SAFETY: passed on from the caller; the packed copy holds k * mp floats.
                unsafe {
                    if vecs == MV {
                        cols_block::<V, MV, NC>(p, ap, mp, i0, j0, done);
                    } else {
                        cols_block::<V, 1, NC>(p, ap, mp, i0, j0, done);
                    }
                }
                i0 += vecs * V::L;
            }
            done = j0 + NC;
            j += NC;
        }
    });
}

#[inline(always)]
unsafe fn cols_block<V: Simd, const MV: usize, const NC: usize>(
    p: Product,
    ap: *const f32,
    mp: usize,
    i0: usize,
    j0: usize,
    done: usize,
) {
    unsafe {
        let mut acc = [[V::zero(); MV]; NC];
        let mut bp = p.b.add(j0 * p.b_cs);
        let mut a = ap.add(i0);
        for _ in 0..p.k {
            let mut av = [V::zero(); MV];
            for (v, x) in av.iter_mut().enumerate() {
                *x = V::load(a.add(v * V::L));
            }
            for (c, col) in acc.iter_mut().enumerate() {
                let bb = V::splat(bp.add(c * p.b_cs));
                for v in 0..MV {
                    col[v] = V::fma(av[v], bb, col[v]);
                }
            }
            bp = bp.add(1);
            a = a.add(mp);
        }
        // Transpose through a tile on the stack: acc[c][v] holds rows i0 + v*L.. of column c.
        let mut tile = [[0.0f32; 64]; NC];
        for (c, col) in acc.iter().enumerate() {
            for (v, &x) in col.iter().enumerate() {
                V::store(tile[c].as_mut_ptr().add(v * V::L), x);
            }
        }
        let rows = (p.m - i0).min(MV * V::L);
        let first = done.max(j0) - j0;
        for r in 0..rows {
            let cp = p.c.add((i0 + r) * p.c_rs + j0);
            for (c, t) in tile.iter().enumerate().skip(first) {
                let d = cp.add(c);
                *d = if p.accumulate { *d + t[r] } else { t[r] };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemm::{gemm_naive, MatRef};

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    /// Both kernels on every path this CPU has, against the naive product: row and column counts
    /// on both sides of each tile edge (8/6 rows, 12/6 columns, 48/16-float panels), one and two
    /// column blocks short, both orientations of each operand, overwrite and accumulate, and a
    /// destination row stride wider than the product.
    #[test]
    fn kernels_match_the_naive_product_on_every_path() {
        let levels: Vec<u8> = (1..=2).filter(|&l| l <= crate::kernels::simd::detect()).collect();
        let mut seed = 5u64;
        let mut ran = [0usize; 2];
        for &level in &levels {
            for &m in &[1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33, 64, 100, 128, 200] {
                for &n in &[1, 5, 6, 7, 12, 13, 16, 23, 24, 25, 47, 48, 49, 100, 130] {
                    for &k in &[1, 3, 32, 77] {
                        let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
                        let b: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed)).collect();
                        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                            let am = if ta { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
                            let bm = if tb { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
                            let rs = n + 3;
                            let init: Vec<f32> = (0..m * rs).map(|_| lcg(&mut seed)).collect();
                            for accumulate in [false, true] {
                                let mut got = init.clone();
                                let product = Product {
                                    m,
                                    n,
                                    k,
                                    a: a.as_ptr(),
                                    a_rs: am.rs,
                                    a_cs: am.cs,
                                    b: b.as_ptr(),
                                    b_rs: bm.rs,
                                    b_cs: bm.cs,
                                    c: got.as_mut_ptr(),
                                    c_rs: rs,
                                    accumulate,
                                };
                                let Some(kernel) = supports(level, &product) else { continue };
                                ran[(kernel == Kernel::Cols) as usize] += 1;
                                // SAFETY: the operands are the buffers above with their own
                                // shapes and strides; the level was detected on this CPU.
                                unsafe { run(level, kernel, product) };
                                let mut want = init.clone();
                                gemm_naive(&mut want, rs, am, bm, accumulate);
                                for (e, (x, y)) in got.iter().zip(&want).enumerate() {
                                    assert!(
                                        (x - y).abs() < 1e-4 * (1.0 + y.abs()),
                                        "level {level} {kernel:?} {m}x{k}x{n} ta={ta} tb={tb} acc={accumulate}: \
                                         element {e} (row {}, column {}) is {x}, want {y}",
                                        e / rs,
                                        e % rs
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        if !levels.is_empty() {
            assert!(ran[0] > 100 && ran[1] > 100, "each kernel ran on few products: {ran:?}");
        }
    }

    /// A row of `x · W` is the same bits whether it is computed alone or among others (Keras'
    /// predict is per sample; `predict` and `fit` in batches of any size must agree): every
    /// output element is one chain of FMAs along `k`, in order, whatever the tile.
    #[test]
    fn a_row_of_the_product_does_not_depend_on_the_rows_beside_it() {
        let mut seed = 9u64;
        for &level in (1..=2).filter(|&l| l <= crate::kernels::simd::detect()).collect::<Vec<u8>>().iter() {
            for &(m, k, n) in &[(100, 300, 70), (64, 9, 33), (13, 200, 16)] {
                let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
                let b: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed)).collect();
                let product = |rows: &[f32], out: &mut [f32]| {
                    let m = rows.len() / k;
                    let p = Product {
                        m,
                        n,
                        k,
                        a: rows.as_ptr(),
                        a_rs: k,
                        a_cs: 1,
                        b: b.as_ptr(),
                        b_rs: n,
                        b_cs: 1,
                        c: out.as_mut_ptr(),
                        c_rs: n,
                        accumulate: false,
                    };
                    let kernel = supports(level, &p).expect("the row kernel takes x · W");
                    // SAFETY: rows is m x k, b is k x n and out m x n, all row-major.
                    unsafe { run(level, kernel, p) };
                };
                let mut whole = vec![0.0f32; m * n];
                product(&a, &mut whole);
                for size in [1, 3, 7, 8, 9] {
                    for start in (0..m).step_by(size) {
                        let rows = size.min(m - start);
                        let mut part = vec![0.0f32; rows * n];
                        product(&a[start * k..(start + rows) * k], &mut part);
                        assert_eq!(
                            part[..],
                            whole[start * n..(start + rows) * n],
                            "level {level}, rows {start}.. in blocks of {size}"
                        );
                    }
                }
            }
        }
    }
}
