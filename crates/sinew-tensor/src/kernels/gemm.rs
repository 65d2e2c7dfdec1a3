//! The one place that calls the GEMM crate. `gemm` won the comparison against `matrixmultiply`
//! (see BENCHMARKS.md): its AVX2/FMA kernels run near peak on one core and it accepts arbitrary
//! row and column strides, so transposed operands never need a copy.

use crate::dtype::Float;
use crate::runtime::threads_here;
use std::any::TypeId;

/// A strided read-only matrix operand: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, rs: cols, cs: 1 }
    }
    /// The transpose, without a copy.
    pub fn t(self) -> Self {
        MatRef { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
    fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "gemm: {what} operand {}x{} (strides {},{}) overruns its buffer of {}",
                self.rows,
                self.cols,
                self.rs,
                self.cs,
                self.data.len()
            );
        }
    }
}

/// `dst = alpha_dst * dst + a · b` where `dst` is row-major with row stride `dst_rs`.
/// `accumulate = false` overwrites `dst` (its old contents may be garbage).
pub fn gemm<T: Float>(dst: &mut [T], dst_rs: usize, a: MatRef<'_, T>, b: MatRef<'_, T>, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k, "gemm: inner dimensions differ: {}x{} · {}x{}", a.rows, a.cols, b.rows, b.cols);
    a.check("lhs");
    b.check("rhs");
    if m == 0 || n == 0 {
        return;
    }
    assert!(dst_rs >= n, "gemm: dst row stride {dst_rs} < n {n}");
    assert!(
        (m - 1) * dst_rs + n <= dst.len(),
        "gemm: dst of {} too small for {m}x{n} (row stride {dst_rs})",
        dst.len()
    );
    crate::runtime::count_gemm_flops(2 * (m * n * k) as u64);
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_rs..r * dst_rs + n].fill(T::ZERO);
            }
        }
        return;
    }
    // Below ~4 MFLOP the fork/join costs more than a second core gains.
    let threads = threads_here();
    if threads > 1 && 2 * m * n * k >= 4_000_000 {
        // Partition the output ourselves and run one single-threaded GEMM per block: on 2 cores
        // this beats the crate's internal threading, most at the GRU shape 64x1024x3072 (102 vs 54
        // GFLOPS, see BENCHMARKS.md). Split the longer output side; blocks are multiples of 16
        // (the f32 micro-kernel width).
        let parts = threads.min(if n >= m { n / 16 } else { m / 16 }).max(1);
        if parts > 1 {
            let split_n = n >= m;
            let len = if split_n { n } else { m };
            let block = len.div_ceil(parts).div_ceil(16) * 16;
            let ptr = SendPtr(dst.as_mut_ptr());
            let part = move |start: usize| {
                let end = (start + block).min(len);
                let ptr = ptr;
                let (a2, b2, off) = if split_n {
                    (a, MatRef { data: &b.data[start * b.cs..], rows: k, cols: end - start, ..b }, start)
                } else {
                    (MatRef { data: &a.data[start * a.rs..], rows: end - start, cols: k, ..a }, b, start * dst_rs)
                };
                let (bm, bn) = (a2.rows, b2.cols);
                // SAFETY: each part writes only its own block of dst (columns start..end of every
                // row, or rows start..end), so no two parts touch the same element; the block lies
                // inside dst because (m-1)*dst_rs + n <= dst.len() was asserted above, and dst
                // outlives the scope.
                unsafe { raw_gemm(ptr.0.add(off), dst_rs, bm, bn, k, a2, b2, accumulate, gemm::Parallelism::None) }
            };
            // The calling thread computes the first part itself while pool workers take the rest.
            // With `rayon::scope`, a caller outside the pool (the training loop) injected every
            // part and slept until all were done: two thread wake-ups per product, which cost
            // more than the second core gained at batch 32.
            rayon::in_place_scope(|s| {
                for start in (block..len).step_by(block) {
                    s.spawn(move |_| part(start));
                }
                part(0);
            });
            return;
        }
    }
    // SAFETY: bounds of a, b and dst were asserted above; dst is a distinct &mut slice.
    unsafe { raw_gemm(dst.as_mut_ptr(), dst_rs, m, n, k, a, b, accumulate, gemm::Parallelism::None) }
}

#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: the pointer is only used to write disjoint blocks of one buffer from scoped tasks.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// # Safety
/// `dst` must be valid for writes of an `m x n` block with row stride `dst_rs`, not aliasing `a`
/// or `b`, and `a` (`m x k`) and `b` (`k x n`) must lie inside their slices.
#[allow(clippy::too_many_arguments)]
unsafe fn raw_gemm<T: Float>(
    dst: *mut T,
    dst_rs: usize,
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    macro_rules! call {
        ($t:ty) => {{
            // SAFETY: T is exactly $t (checked by TypeId), so the casts are identity casts; the
            // caller guarantees the bounds and the absence of aliasing.
            unsafe {
                gemm::gemm::<$t>(
                    m,
                    n,
                    k,
                    dst as *mut $t,
                    1,
                    dst_rs as isize,
                    accumulate,
                    a.data.as_ptr() as *const $t,
                    a.cs as isize,
                    a.rs as isize,
                    b.data.as_ptr() as *const $t,
                    b.cs as isize,
                    b.rs as isize,
                    if accumulate { 1.0 } else { 0.0 },
                    1.0,
                    false,
                    false,
                    false,
                    par,
                )
            }
        }};
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        #[cfg(target_arch = "x86_64")]
        let level = super::simd::probe();
        #[cfg(target_arch = "x86_64")]
        {
            let product = super::skinny::Product {
                m,
                n,
                k,
                a: a.data.as_ptr() as *const f32,
                a_rs: a.rs,
                a_cs: a.cs,
                b: b.data.as_ptr() as *const f32,
                b_rs: b.rs,
                b_cs: b.cs,
                c: dst as *mut f32,
                c_rs: dst_rs,
                accumulate,
            };
            if let Some(kernel) = super::skinny::supports(level, &product) {
                // SAFETY: T is f32 (checked by TypeId); the caller guarantees the bounds and the
                // absence of aliasing; `supports` chose the kernel for this level, which the CPU has.
                return unsafe { super::skinny::run(level, kernel, product) };
            }
        }
        if level < 2 {
            let (lhs, rhs) = (a.data.as_ptr() as *const f32, b.data.as_ptr() as *const f32);
            let operands = (lhs, a.cs as isize, a.rs as isize, rhs, b.cs as isize, b.rs as isize);
            // SAFETY: T is f32 (checked by TypeId), so the casts are identity casts; the caller
            // guarantees the bounds and the absence of aliasing; a level below 2 is a path the CPU has.
            return unsafe { forced_f32(level, dst as *mut f32, dst_rs, (m, n, k), operands, accumulate, par) };
        }
        call!(f32)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        call!(f64)
    } else {
        unreachable!("Float is implemented for f32 and f64 only")
    }
}

/// The `gemm` crate's f32 kernels for a path below its own choice: the crate always takes the
/// widest path the CPU has, so for `SINEW_ISA=avx2` (or `baseline`) its AVX2+FMA (or scalar)
/// micro-kernels are driven here through its generic driver, `gemm_basic_generic`, exactly as
/// its own dispatch would call them on a CPU without AVX-512. The operands are first oriented as
/// `gemm::gemm` does: its micro-kernels want a column-major destination, and ours is row-major,
/// so the product is computed as `dstᵀ = bᵀ · aᵀ`. (Pinned to gemm 0.19, whose driver this is.)
///
/// # Safety
/// As [`raw_gemm`], for `lhs` (`m x k`) and `rhs` (`k x n`) given as pointers and strides;
/// `level` is 0 or 1 and the CPU has that path.
#[cfg(target_arch = "x86_64")]
unsafe fn forced_f32(
    level: u8,
    dst: *mut f32,
    dst_rs: usize,
    (m, n, k): (usize, usize, usize),
    (lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs): (*const f32, isize, isize, *const f32, isize, isize),
    accumulate: bool,
    par: gemm::Parallelism,
) {
    let (dst_cs, dst_rs) = (1isize, dst_rs as isize);
    // gemm::gemm transposes when the destination's columns are closer together than its rows.
    let (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs) = if dst_cs < dst_rs {
        (n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs)
    } else {
        (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs)
    };
    let alpha = if accumulate { 1.0 } else { 0.0 };
    macro_rules! drive {
        ($simd:ty, $n:expr, $($kernels:ident)::+) => {{
            use $($kernels)::+ as uk;
            // SAFETY: the caller guarantees the bounds and the path; the orientation above is
            // gemm::gemm's own.
            unsafe {
                gemm_common::gemm::gemm_basic_generic::<
                    _,
                    f32,
                    $n,
                    { uk::MR_DIV_N * $n },
                    { uk::NR },
                    { uk::MR_DIV_N },
                    { uk::H_M },
                    { uk::H_N },
                >(
                    <$simd as gemm_common::simd::MixedSimd<f32, f32, f32, f32>>::try_new()
                        .expect("the CPU has the forced path (checked by simd::set_level and the probe)"),
                    m,
                    n,
                    k,
                    dst,
                    dst_cs,
                    dst_rs,
                    accumulate,
                    lhs,
                    lhs_cs,
                    lhs_rs,
                    rhs,
                    rhs_cs,
                    rhs_rs,
                    alpha,
                    1.0,
                    false,
                    false,
                    false,
                    |x, y, z| x * y + z,
                    &uk::UKR,
                    &uk::H_UKR,
                    false,
                    par,
                )
            }
        }};
    }
    match level {
        1 => drive!(gemm_common::simd::V3, 8, gemm_f32::microkernel::fma::f32),
        _ => drive!(gemm_common::simd::Scalar, 1, gemm_f32::microkernel::scalar::f32),
    }
}

/// The slow, obvious reference used by tests.
pub fn gemm_naive<T: Float>(dst: &mut [T], dst_rs: usize, a: MatRef<'_, T>, b: MatRef<'_, T>, accumulate: bool) {
    for i in 0..a.rows {
        for j in 0..b.cols {
            let mut s = 0.0f64;
            for p in 0..a.cols {
                s += a.data[i * a.rs + p * a.cs].to_f64() * b.data[p * b.rs + j * b.cs].to_f64();
            }
            let d = &mut dst[i * dst_rs + j];
            *d = if accumulate { *d + T::from_f64(s) } else { T::from_f64(s) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::rand;
    #[test]
    fn gemm_matches_naive_on_odd_shapes_and_transposes() {
        let mut s = 7u64;
        // The last two are large enough for the parallel path: split along n, then along m.
        for &(m, k, n) in
            &[(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 65), (130, 67, 129), (97, 100, 301), (603, 20, 201)]
        {
            let a: Vec<f32> = rand(m * k, &mut s);
            let b: Vec<f32> = rand(k * n, &mut s);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // A stored transposed is a k x m buffer read with swapped strides.
                let am = if ta { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
                let bm = if tb { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
                for acc in [false, true] {
                    let init: Vec<f32> = rand(m * (n + 3), &mut s);
                    let mut d1 = init.clone();
                    let mut d2 = init.clone();
                    gemm(&mut d1, n + 3, am, bm, acc);
                    gemm_naive(&mut d2, n + 3, am, bm, acc);
                    for r in 0..m {
                        for c in 0..n + 3 {
                            let (x, y) = (d1[r * (n + 3) + c], d2[r * (n + 3) + c]);
                            assert!((x - y).abs() < 1e-4 * (1.0 + y.abs()), "{m}x{k}x{n} {ta} {tb} {acc}: {x} vs {y}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn gemm_overwrite_never_reads_dst() {
        // Outputs come from `storage::overwritten`, which may hold NaN left by an earlier tensor:
        // without accumulate, none of it may leak into the product (0 * NaN would).
        let mut s = 11u64;
        for &(m, k, n) in &[(3, 4, 5), (32, 784, 400)] {
            let a: Vec<f32> = rand(m * k, &mut s);
            let b: Vec<f32> = rand(k * n, &mut s);
            let mut d1 = vec![f32::NAN; m * n];
            let mut d2 = vec![0.0; m * n];
            gemm(&mut d1, n, MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n), false);
            gemm_naive(&mut d2, n, MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n), false);
            for (x, y) in d1.iter().zip(&d2) {
                assert!((x - y).abs() < 1e-4 * (1.0 + y.abs()), "{m}x{k}x{n}: {x} vs {y}");
            }
        }
    }
}
