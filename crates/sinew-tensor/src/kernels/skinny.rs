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
    // On AVX2 the column kernel's vectors are 16 rows tall, and its copy of `a` is read once per
    // 6 columns: beyond 32K floats (b8's 128 x 784) the crate's blocking is faster. The row
    // kernel blocks `k` and packs, and matches the crate there.
    let a_fits = level == 2 || p.m * p.k <= 32 * 1024;
    if p.b_cs == 1 && (p.m <= 128 || p.k <= 128) {
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
    unsafe { rows_kernel::<Z, V4_MR, 3>(p, 128) }
}
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn cols_v4(p: Product) {
    unsafe { cols_kernel::<Z, 2, V4_NC>(p) }
}
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_v3(p: Product) {
    unsafe { rows_kernel::<Y, V3_MR, 2>(p, 256) }
}
#[target_feature(enable = "avx2,fma")]
unsafe fn cols_v3(p: Product) {
    unsafe { cols_kernel::<Y, 2, V3_NC>(p) }
}

/// `b`'s rows contiguous (`b_cs == 1`). Fewer rows than `MR` run with a tile of exactly that
/// many rows, so every output element is the same chain of FMAs along `k` whatever the number
/// of rows: a prediction does not depend on the batch it was computed in.
#[inline(always)]
unsafe fn rows_kernel<V: Simd, const MR: usize, const NV: usize>(p: Product, kc: usize) {
    // Copying pays where many row blocks read a panel, or where b's rows lie a multiple of 128
    // bytes apart (they then share at most half of L1's sets: b8's 512 columns, the GRU's
    // 3072). At b5's forward shapes (32 rows, 400 or 784 columns) it cost 7%.
    let pack = p.m > 64 || p.b_rs % 32 == 0;
    unsafe {
        if p.m >= MR {
            return rows_kernel_tiled::<V, MR, NV>(p, kc, pack);
        }
        match p.m {
            1 => rows_kernel_tiled::<V, 1, NV>(p, kc, pack),
            2 => rows_kernel_tiled::<V, 2, NV>(p, kc, pack),
            3 => rows_kernel_tiled::<V, 3, NV>(p, kc, pack),
            4 => rows_kernel_tiled::<V, 4, NV>(p, kc, pack),
            5 => rows_kernel_tiled::<V, 5, NV>(p, kc, pack),
            6 => rows_kernel_tiled::<V, 6, NV>(p, kc, pack),
            7 => rows_kernel_tiled::<V, 7, NV>(p, kc, pack),
            _ => unreachable!("skinny: {} rows below a tile of {MR}", p.m),
        }
    }
}

/// `b`'s rows contiguous (`b_cs == 1`), `m >= MR`. The inner dimension is cut into blocks of
/// at most `KC` steps (evenly, so the cut depends on `k` alone), and within a block column panels
/// of `NV` vectors run outermost: a panel of `b` (`KC` rows of `NV * L` floats, a few KiB) stays
/// in L1 while every block of `MR` rows reads it, and the rows of `a` it meets (`m x KC`) stay in
/// L2 across the panels. Where `pack`, the panel is first copied contiguous: `b`'s own rows may lie
/// a power of two apart (512 columns: 2 KiB), which maps them all to two of L1's 64 sets.
/// The last row block is shifted up to end at `m` and stores only rows the previous block did not;
/// the last column panel uses fewer vectors, its last one masked.
///
/// Every output element is one chain of FMAs along `k`, whatever the blocking: a block after the
/// first (or the first, when accumulating) starts from the value in `c`.
#[inline(always)]
unsafe fn rows_kernel_tiled<V: Simd, const MR: usize, const NV: usize>(p: Product, kc: usize, pack: bool) {
    let nr = NV * V::L;
    let kb = p.k.div_ceil(p.k.div_ceil(kc));
    let dst = if pack { scratch(&PANEL, kb * nr) } else { std::ptr::null_mut() };
    let row_blocks = p.m.div_ceil(MR);
    let apack = if pack { scratch(&ROWS, row_blocks * kb * MR) } else { std::ptr::null_mut() };
    let mut k0 = 0;
    while k0 < p.k {
        let kn = kb.min(p.k - k0);
        if pack {
            // Each block of MR rows (the last shifted up to end at m, as rows_panel runs
            // them) as kn steps of MR consecutive floats: the broadcasts read one stream, not
            // MR rows that may share an L1 set (1024-float rows lie 4 KiB apart).
            for rb in 0..row_blocks {
                let i0 = (rb * MR).min(p.m - MR);
                let d = apack.add(rb * kn * MR);
                for q in 0..kn {
                    for r in 0..MR {
                        // SAFETY: (i0 + r, k0 + q) lies in a (i0 + r < m, k0 + q < k); the
                        // copy holds row_blocks * kb * MR floats.
                        unsafe { *d.add(q * MR + r) = *p.a.add((i0 + r) * p.a_rs + (k0 + q) * p.a_cs) };
                    }
                }
            }
        }
        let mut j = 0;
        while j < p.n {
            let cols = (p.n - j).min(nr);
            let vecs = cols.div_ceil(V::L);
            let tail = cols - (vecs - 1) * V::L;
            // SAFETY: rows k0..k0 + kn and columns j..j + cols of b lie in b (the caller's
            // guarantee); the copy holds kb * nr >= kn * nr floats.
            let (b, b_rs) = unsafe {
                let src = p.b.add(k0 * p.b_rs + j);
                if pack {
                    for r in 0..kn {
                        let (s, d) = (src.add(r * p.b_rs), dst.add(r * nr));
                        if cols == nr {
                            for v in 0..NV {
                                V::store(d.add(v * V::L), V::load(s.add(v * V::L)));
                            }
                        } else {
                            std::ptr::copy_nonoverlapping(s, d, cols);
                        }
                    }
                    (dst as *const f32, nr)
                } else {
                    (src, p.b_rs)
                }
            };
            let blk = Block { b, b_rs, j, k0, kn, tail, apack };
            // SAFETY: passed on from the caller; b holds kn rows of cols floats.
            unsafe {
                match (vecs == NV, tail == V::L) {
                    (true, true) => rows_panel::<V, MR, NV, false>(p, blk),
                    (true, false) => rows_panel::<V, MR, NV, true>(p, blk),
                    _ => match vecs {
                        1 => rows_panel::<V, MR, 1, true>(p, blk),
                        2 => rows_panel::<V, MR, 2, true>(p, blk),
                        _ => rows_panel::<V, MR, 3, true>(p, blk),
                    },
                }
            }
            j += nr;
        }
        k0 += kn;
    }
}

/// One panel of `b` for [`rows_panel`]: its rows `k0..k0 + kn` (at `b`, `b_rs` apart) and
/// columns `j..`, the last vector `tail` lanes wide.
#[derive(Clone, Copy)]
struct Block {
    b: *const f32,
    b_rs: usize,
    j: usize,
    k0: usize,
    kn: usize,
    tail: usize,
    /// `a`'s rows `k0..k0 + kn` packed by blocks of `MR` rows, or null to read `a` in place.
    apack: *const f32,
}

#[inline(always)]
unsafe fn rows_panel<V: Simd, const MR: usize, const NV: usize, const MASKED: bool>(p: Product, blk: Block) {
    unsafe {
        let mask = V::mask(blk.tail);
        let from_c = blk.k0 > 0 || p.accumulate;
        let mut i = 0;
        let mut done = 0;
        while done < p.m {
            let i0 = i.min(p.m - MR);
            let (a0, a_rs, a_cs) = if blk.apack.is_null() {
                (p.a.add(i0 * p.a_rs + blk.k0 * p.a_cs), p.a_rs, p.a_cs)
            } else {
                (blk.apack.add(i / MR * blk.kn * MR), 1, MR)
            };
            let mut a_row = [a0; MR];
            for (r, a) in a_row.iter_mut().enumerate() {
                *a = a0.add(r * a_rs);
            }
            let mut acc = [[V::zero(); NV]; MR];
            if from_c {
                for (r, row) in acc.iter_mut().enumerate() {
                    let cp = p.c.add((i0 + r) * p.c_rs + blk.j);
                    for (v, x) in row.iter_mut().enumerate() {
                        *x = if MASKED && v == NV - 1 {
                            V::load_masked(cp.add(v * V::L), mask)
                        } else {
                            V::load(cp.add(v * V::L))
                        };
                    }
                }
            }
            let mut bp = blk.b;
            let mut ap = 0;
            for _ in 0..blk.kn {
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
                bp = bp.add(blk.b_rs);
                ap += a_cs;
            }
            for (r, row) in acc.iter().enumerate() {
                if i0 + r < done {
                    continue;
                }
                let cp = p.c.add((i0 + r) * p.c_rs + blk.j);
                for (v, &x) in row.iter().enumerate() {
                    if MASKED && v == NV - 1 {
                        V::store_masked(cp.add(v * V::L), mask, x);
                    } else {
                        V::store(cp.add(v * V::L), x);
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
    /// The contiguous copy of a panel of `b` that [`rows_kernel_tiled`] reads, kept between calls.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The copy of a block of `a`'s columns, by blocks of rows, that [`rows_kernel_tiled`] reads.
    static ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `b`'s columns contiguous (`b_rs == 1`), `n >= NC`. `a` is first copied `k`-major with its
/// rows padded to whole vectors; the output is then computed as blocks of `MV * L` rows by `NC`
/// columns, vectors along the rows, each step broadcasting one element from each of `NC`
/// columns of `b` (consecutive in memory along `k`). Column blocks outermost, so `b` is read
/// once; the last one is shifted left to end at `n` and stores only columns not yet stored.
#[inline(always)]
unsafe fn cols_kernel<V: Simd, const MV: usize, const NC: usize>(p: Product) {
    let mp = p.m.div_ceil(V::L) * V::L;
    let dst = scratch(&PACKED, mp * p.k);
    // Rows of the copy are written in order; the reads walk down `m` rows of `a` together,
    // whose lines stay in L1 across the next 16 values of q. The padding rows m..mp are zeroed:
    // their results are never stored, but a value an earlier call left there could be a
    // denormal, which costs time in every FMA it enters.
    for q in 0..p.k {
        for i in 0..p.m {
            // SAFETY: a[i*a_rs + q*a_cs] lies in a for i < m, q < k (the caller's guarantee),
            // and q*mp + i < k*mp, the copy's length.
            unsafe { *dst.add(q * mp + i) = *p.a.add(i * p.a_rs + q * p.a_cs) };
        }
        for i in p.m..mp {
            // SAFETY: q*mp + i < k*mp, as above.
            unsafe { *dst.add(q * mp + i) = 0.0 };
        }
    }
    let ap = dst as *const f32;
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
}

/// This thread's `key` buffer, grown to at least `len` floats (never shrunk, so a steady state
/// allocates nothing). Taken out of the `with` closure because a closure does not inherit the
/// caller's target features: the kernels' intrinsics inside one were calls, not instructions.
/// The pointer is valid until the next call for the same buffer on this thread; the kernels do
/// not nest.
fn scratch(key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>, len: usize) -> *mut f32 {
    key.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        buf.as_mut_ptr()
    })
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
mod tests;
