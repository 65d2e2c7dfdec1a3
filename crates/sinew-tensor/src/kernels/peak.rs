//! The machine's peak f32 rate on the instruction set in use, measured: every thread runs
//! independent chains of fused multiply-adds (mul and add without FMA on the baseline path) from
//! registers, with no memory traffic, so the figure is what the cores can do at most. A roofline
//! divides a workload's achieved rate by it.

use std::hint::black_box;
use std::time::Instant;

/// Chains per thread: enough independent accumulators to cover the FMA latency on every port.
const CHAINS: usize = 12;

/// Measured peak GFLOPS of `threads` threads running together on the path [`super::simd::level`]
/// picks (honouring `SINEW_ISA`): the best of three runs of about 50 ms each.
pub fn peak_gflops(threads: usize) -> f64 {
    let threads = threads.max(1);
    let level = super::simd::level();
    let mut iters: u64 = 1 << 16;
    // Grow the loop until one run takes about 50 ms on one thread.
    loop {
        let t = Instant::now();
        black_box(chains(level, iters));
        if t.elapsed().as_secs_f64() > 0.05 || iters >= 1 << 30 {
            break;
        }
        iters *= 2;
    }
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let flops: u64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(|| chains(level, iters))).collect();
            hs.into_iter().map(|h| h.join().expect("probe thread").0).sum()
        });
        best = best.max(flops as f64 / t.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// Runs the chains `iters` times; returns the FLOPs done and a value that depends on them.
fn chains(level: &str, iters: u64) -> (u64, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `level` names only instruction sets the CPU has (simd::level probes them).
        match level {
            "avx512" => return unsafe { x86::avx512(iters) },
            "avx2" => return unsafe { x86::avx2(iters) },
            _ => return x86::sse(iters),
        }
    }
    #[allow(unreachable_code)]
    {
        let _ = level;
        let mut acc = [black_box(1.0f32); CHAINS];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = black_box(*a) * 0.999_999 + 1e-6;
            }
        }
        (iters * CHAINS as u64 * 2, acc.iter().sum())
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    // The constants go through black_box: with them known, the compiler folds the first step
    // (1.0 * 0.999999 + 1e-6 rounds to 1.0) and proves the whole loop does nothing.
    use super::CHAINS;
    use std::arch::x86_64::*;
    use std::hint::black_box;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(iters: u64) -> (u64, f32) {
        let (a, b) = (_mm512_set1_ps(black_box(0.999_999)), _mm512_set1_ps(black_box(1e-6)));
        let mut acc = [_mm512_set1_ps(black_box(1.0)); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        let s = acc.iter().fold(_mm512_setzero_ps(), |s, x| _mm512_add_ps(s, *x));
        (iters * (CHAINS * 16 * 2) as u64, _mm512_reduce_add_ps(s))
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(iters: u64) -> (u64, f32) {
        let (a, b) = (_mm256_set1_ps(black_box(0.999_999)), _mm256_set1_ps(black_box(1e-6)));
        let mut acc = [_mm256_set1_ps(black_box(1.0)); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut out = [0.0f32; 8];
        let s = acc.iter().fold(_mm256_setzero_ps(), |s, x| _mm256_add_ps(s, *x));
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        (iters * (CHAINS * 8 * 2) as u64, out.iter().sum())
    }

    /// SSE2, the x86-64 baseline: no FMA, so a multiply and an add per lane.
    pub(super) fn sse(iters: u64) -> (u64, f32) {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let (a, b) = (_mm_set1_ps(black_box(0.999_999)), _mm_set1_ps(black_box(1e-6)));
            let mut acc = [_mm_set1_ps(black_box(1.0)); CHAINS];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = _mm_add_ps(_mm_mul_ps(*x, a), b);
                }
            }
            let mut out = [0.0f32; 4];
            let s = acc.iter().fold(_mm_setzero_ps(), |s, x| _mm_add_ps(s, *x));
            _mm_storeu_ps(out.as_mut_ptr(), s);
            (iters * (CHAINS * 4 * 2) as u64, out.iter().sum())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_probe_measures_a_rate_a_core_can_reach() {
        // One core of any current CPU does well under 1 TFLOPS in f32. A first version of the
        // probe reported 4.8 PFLOPS a thread: the compiler had folded its loop away.
        let g = super::peak_gflops(1);
        assert!(g.is_finite() && g > 0.1 && g < 1000.0, "{g} GFLOPS on one thread");
    }
}
