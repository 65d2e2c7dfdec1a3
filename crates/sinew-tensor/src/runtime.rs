//! Where work runs: the engine's one thread policy. Kernels split across rayon's global pool
//! (which honours `RAYON_NUM_THREADS`); the crates above decide only *where a whole step runs*
//! ([`in_pool`]) and when a thread must keep its kernels to itself ([`serial`]). Nothing above
//! the engine reaches into `kernels` for this.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, OnceLock};

/// Runs `f` on a thread of rayon's global pool (directly when already on one). The parallel
/// kernels inside then split work with the calling thread as a pool worker: the other half of a
/// GEMM is stolen by an awake worker or, if none took it yet, run by the caller itself, instead
/// of every split waking a sleeping worker and blocking the caller until it is done. Training
/// steps run through this.
///
/// For as long as `f` runs, one other worker is kept awake: it spins, taking any job the pool
/// has (a GEMM's second half, an elementwise op's chunks) as soon as it is queued. Between two
/// products a step does elementwise work on one thread for tens of microseconds, long enough
/// for an idle rayon worker to go to sleep, so each split used to pay a futex wake-up on its
/// critical path (the dense autoencoder, b5, has about 30 products a step). OpenMP runtimes
/// spin for the same reason. The spinner stops when `f` returns; if the caller's own thread
/// picks it up (while waiting on a join), it returns at once.
///
/// The job takes the caller's thread-local modes along (gradient recording, [`serial`], the
/// step's [`replicas`]): a pool
/// thread that picks it up may be blocked inside another caller's `no_grad` or `serial` section
/// (a worker waiting in a join steals whatever job is queued), and those modes are per thread.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let (grad, serial_mode, reps) = (crate::autograd::is_grad_enabled(), SERIAL.with(|s| s.get()), replicas());
    let run = || crate::autograd::with_grad_mode(grad, || with_serial(serial_mode, || with_replicas(reps, f)));
    if num_threads() < 2 || serial_mode {
        return rayon::scope(|_| run());
    }
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        let (caller, done) = (rayon::current_thread_index(), &done);
        s.spawn(move |_| {
            if rayon::current_thread_index() == caller {
                return;
            }
            while !done.load(Ordering::Acquire) {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::hint::spin_loop();
                }
            }
        });
        // Set even if `run` unwinds, so the scope's wait for the spinner ends.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let _done = Done(done);
        run()
    })
}

/// Threads for GEMM, decided once from rayon's global pool (which honours `RAYON_NUM_THREADS`).
pub fn num_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(rayon::current_num_threads)
}

thread_local! {
    static SERIAL: Cell<bool> = const { Cell::new(false) };
    static REPLICAS: RefCell<Option<Arc<dyn Replicas>>> = const { RefCell::new(None) };
}

/// The replicas of a data-parallel training step: the processes (or threads) that each run the
/// same model on their share of one global batch. Set for the length of a step by the
/// data-parallel driver ([`with_replicas`]); ops that must see the whole batch
/// ([`crate::Tensor::replica_sum`], and through it synchronised BatchNormalization) reach the
/// others through it. Every replica makes the same calls in the same order.
pub trait Replicas: Send + Sync {
    /// How many replicas take part.
    fn size(&self) -> usize;
    /// Each element summed over every replica, in place; every replica ends with the same bits.
    fn sum(&self, buf: &mut [f64]);
    /// This replica's weight in the step's objective: the global loss is the sum over replicas
    /// of `share` times each one's own loss (its fraction of the global batch's rows). Every
    /// replica's share is positive.
    fn share(&self) -> f64;
}

/// Runs `f` with `replicas` as this thread's step replicas (none: a step on one process),
/// restoring the previous ones after.
pub fn with_replicas<R>(replicas: Option<Arc<dyn Replicas>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<dyn Replicas>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            REPLICAS.with(|r| *r.borrow_mut() = prev);
        }
    }
    let _restore = Restore(REPLICAS.with(|r| r.replace(replicas)));
    f()
}

/// The replicas of the step running on this thread, if it is one of several.
pub fn replicas() -> Option<Arc<dyn Replicas>> {
    REPLICAS.with(|r| r.borrow().clone())
}

/// Runs `f` with the GEMM, conv (im2col, col2im, fused conv) and pooling kernels on this thread
/// kept to this thread: for a caller that already gives every thread work of its own
/// (data-parallel inference), where a split inside a kernel only adds fork/join. Elementwise
/// ops still split above their own threshold.
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    with_serial(true, f)
}

/// Runs `f` with serial mode on or off on this thread, restoring it after.
fn with_serial<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SERIAL.with(|s| s.replace(on)));
    f()
}

/// The threads a kernel on this thread may split across: 1 inside [`serial`].
pub fn threads_here() -> usize {
    if SERIAL.with(|s| s.get()) {
        1
    } else {
        num_threads()
    }
}

/// Runs a loop compiled for AVX-512 or AVX2+FMA when the CPU has them (detected once), else for
/// the x86-64 baseline: how elementwise loops outside the engine (optimizer update rules) get
/// the engine's vector width. See ARCHITECTURE.md, "Elementwise loops are vectorised on purpose".
pub use crate::kernels::simd::vectorized;

/// The instruction-set path in use (`"avx512"`, `"avx2"` or `"baseline"`), the CPU's widest,
/// every path it can run, and the switch between them (`SINEW_ISA` at start). Elementwise
/// loops and GEMM follow the same path.
pub use crate::kernels::simd::{
    available_levels as isa_paths, detected_level as widest_isa, level as isa, set_level as set_isa,
};

/// The measured peak f32 GFLOPS of `threads` threads on the path in use (an FMA-throughput probe).
pub use crate::kernels::peak::peak_gflops;

static GEMM_FLOPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Floating-point operations done by GEMM since the process started: `2·m·n·k` for each
/// product, forward and backward (convolutions and recurrent steps run as GEMMs, so they count;
/// elementwise work does not). The difference across a training step is the step's FLOPs.
pub fn gemm_flops() -> u64 {
    GEMM_FLOPS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_gemm_flops(flops: u64) {
    GEMM_FLOPS.fetch_add(flops, std::sync::atomic::Ordering::Relaxed);
}
