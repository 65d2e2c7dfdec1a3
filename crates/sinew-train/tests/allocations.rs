//! Heap allocations in a steady-state training step (issue 23 asks for none). A counting
//! allocator wraps the system one for this test binary; the dense autoencoder of the `b5`
//! benchmark (784-400-200-100-50-25-50-100-200-400-784, SGD, batch 32) is warmed up, then ten
//! steps are counted, on every thread. The bound is today's count with a margin, so a change that
//! adds allocations to the step fails here; the count itself is printed
//! (`cargo test -p sinew-train --test allocations -- --nocapture`).

use sinew_nn::{Activation, Dense};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::Sequential;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What a steady-state step of the b5 autoencoder allocated on 2026-12-07: 473 allocations and
/// 2.9 MB on 2 threads (477 and 3.3 MB in one run of five), 444 on one thread; its weights are
/// 3.4 MB. Not yet the none the issue asks for. The bound leaves a quarter for thread-count and
/// scheduling differences.
const MAX_ALLOCS_PER_STEP: u64 = 600;

#[test]
fn a_steady_state_dense_training_step_allocates_at_most_the_stated_count() {
    let mut rng = Rng::seed(0);
    let x = Tensor::rand_uniform([32, 784], 0.0, 1.0, &mut rng);
    let mut m = Sequential::new();
    m.seed(1).input(&[784]);
    for d in [400, 200, 100, 50, 25, 50, 100, 200, 400] {
        m.add(Dense::new(d).activation(Activation::Relu));
    }
    m.add(Dense::new(784).activation(Activation::Sigmoid));
    m.compile(Optimizer::sgd(1.5), "binary_crossentropy", &[]).unwrap();
    for _ in 0..5 {
        m.train_on_batch(&x, &x).unwrap();
    }
    let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    const STEPS: u64 = 10;
    for _ in 0..STEPS {
        m.train_on_batch(&x, &x).unwrap();
    }
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) / STEPS;
    let bytes = (BYTES.load(Ordering::Relaxed) - b0) / STEPS;
    eprintln!("a steady-state b5 step: {allocs} allocations, {bytes} bytes");
    assert!(allocs <= MAX_ALLOCS_PER_STEP, "{allocs} allocations a step (at most {MAX_ALLOCS_PER_STEP})");
}
