//! Runtime instruction-set dispatch for elementwise loops.
//!
//! The crate is compiled for the x86-64 baseline (SSE2), so a plain loop runs 4 f32 lanes wide.
//! [`vectorized`] runs a closure inside a function compiled for AVX-512 or AVX2+FMA when the CPU
//! has them; loops that are inlined into that closure (every hot elementwise loop is marked
//! `#[inline(always)]` for this) are then compiled 16 or 8 lanes wide. The CPU is probed once.
//! GEMM follows the same level (`gemm.rs` calls the `gemm` crate's kernels for it).
//!
//! `SINEW_ISA=avx2` or `SINEW_ISA=baseline` forces a lower path on a CPU that has a higher one
//! (a higher one than the CPU has is capped at what it has), so one machine can measure and test
//! every path; [`set_level`] does the same from code.

#[cfg(target_arch = "x86_64")]
use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
static LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// The instruction set [`vectorized`] compiles for on this CPU: `"avx512"`, `"avx2"` or
/// `"baseline"`.
pub fn level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        NAMES[probe() as usize]
    }
    #[cfg(not(target_arch = "x86_64"))]
    "baseline"
}

/// The widest instruction set this CPU has, whatever `SINEW_ISA` says.
pub fn detected_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        NAMES[detect() as usize]
    }
    #[cfg(not(target_arch = "x86_64"))]
    "baseline"
}

/// Every path this CPU can run, widest first (what a test compares).
pub fn available_levels() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        (0..=detect()).rev().map(|l| NAMES[l as usize]).collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    vec!["baseline"]
}

/// Switches every kernel to `level` (`"avx512"`, `"avx2"` or `"baseline"`) from now on, as
/// `SINEW_ISA` does at start. An error names a level this CPU lacks or an unknown name.
/// Kernels already running finish on the old path; call it between computations.
pub fn set_level(level: &str) -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    {
        let l = NAMES.iter().position(|n| *n == level).ok_or_else(|| {
            format!("unknown instruction set {level:?}: the paths are \"avx512\", \"avx2\" and \"baseline\"")
        })? as u8;
        if l > detect() {
            return Err(format!("this CPU has no {level} (its widest path is {})", detected_level()));
        }
        LEVEL.store(l, Ordering::Relaxed);
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    match level {
        "baseline" => Ok(()),
        _ => Err(format!("this CPU has no {level} (its widest path is baseline)")),
    }
}

#[cfg(target_arch = "x86_64")]
const NAMES: [&str; 3] = ["baseline", "avx2", "avx512"];

#[cfg(target_arch = "x86_64")]
pub(crate) fn detect() -> u8 {
    let v3 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let v4 = v3
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl");
    if v4 {
        2
    } else {
        u8::from(v3)
    }
}

/// The level in use: the CPU's, capped by `SINEW_ISA` when it names a path.
#[cfg(target_arch = "x86_64")]
pub(crate) fn probe() -> u8 {
    let l = LEVEL.load(Ordering::Relaxed);
    if l != u8::MAX {
        return l;
    }
    let mut l = detect();
    if let Ok(want) = std::env::var("SINEW_ISA") {
        match NAMES.iter().position(|n| *n == want.trim()) {
            Some(w) => l = l.min(w as u8),
            None => eprintln!("sinew: SINEW_ISA={want:?} is not avx512, avx2 or baseline; using {}", NAMES[l as usize]),
        }
    }
    LEVEL.store(l, Ordering::Relaxed);
    l
}

/// Runs `f`, compiled for the widest vector instructions this CPU has. Wrap the whole loop (not
/// one element) and keep everything it calls `#[inline(always)]`, or the inner calls fall back
/// to baseline code.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match probe() {
            // SAFETY: probe() found every feature that run_v4 / run_v3 enable on this CPU.
            2 => return unsafe { run_v4(f) },
            1 => return unsafe { run_v3(f) },
            _ => {}
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn run_v4<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_v3<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectorized_runs_the_closure_once_and_returns_its_value() {
        let mut calls = 0;
        let v: Vec<f32> = super::vectorized(|| {
            calls += 1;
            (0..100).map(|i| i as f32 * 2.0).collect()
        });
        assert_eq!(calls, 1);
        assert_eq!(v[99], 198.0);
        assert!(["avx512", "avx2", "baseline"].contains(&super::level()));
    }
}
