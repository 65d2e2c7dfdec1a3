//! Typed, contiguous buffers behind a tensor, and the glue that lets generic kernels reach them.

use crate::dtype::{DType, Float};

/// The elements of a tensor. Shared between views (`reshape` and friends) through an `Arc`.
#[derive(Clone, Debug)]
pub(crate) enum Storage {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Storage {
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }
    pub(crate) fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
        }
    }
}

/// A [`Float`] that can be stored in a [`Storage`]. Kernels are written once over `T: Element`.
pub(crate) trait Element: Float {
    fn view(s: &Storage) -> &[Self];
    fn view_mut(s: &mut Storage) -> &mut [Self];
    fn wrap(v: Vec<Self>) -> Storage;
    /// This type's buffer pool on the current thread.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

// A per-thread pool of freed tensor buffers. Training allocates the same sizes every step;
// reusing warm buffers avoids the page faults and zeroing of fresh memory that dominate small
// ops (candle loses about a third of its MNIST CNN time to them). Buffers below MIN_POOLED
// elements go back to malloc, which handles small sizes well.
const MIN_POOLED: usize = 1024;
const MAX_POOLED_BUFFERS: usize = 256;
const MAX_POOLED_BYTES: usize = 256 << 20;

thread_local! {
    static POOL_F32: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
    static POOL_F64: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The smallest pooled buffer with capacity for `n` elements (and not more than twice too big),
/// with whatever length and contents it had.
fn pooled<T: Element>(n: usize) -> Option<Vec<T>> {
    if n < MIN_POOLED {
        return None;
    }
    T::with_pool(|pool| {
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n && v.capacity() <= 2 * n + MIN_POOLED)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    })
}

/// An empty buffer with capacity for at least `n` elements, from the pool when one fits.
pub(crate) fn take<T: Element>(n: usize) -> Vec<T> {
    match pooled(n) {
        Some(mut v) => {
            v.clear();
            v
        }
        None => Vec::with_capacity(n),
    }
}

/// `n` elements with unspecified (but initialised) values, for an output its kernel overwrites
/// completely: a pooled buffer keeps its old contents, so nothing is zero-filled twice. Only use
/// it where every element is written before it is read.
pub(crate) fn overwritten<T: Element>(n: usize) -> Vec<T> {
    match pooled(n) {
        Some(mut v) => {
            // Truncating keeps the old values; only a shorter buffer's tail is filled.
            v.truncate(n);
            v.resize(n, T::ZERO);
            v
        }
        None => vec![T::ZERO; n],
    }
}

/// `n` zeros, in a pooled buffer when one fits.
pub(crate) fn zeroed<T: Element>(n: usize) -> Vec<T> {
    let mut v = take(n);
    v.resize(n, T::ZERO);
    v
}

/// Hands a buffer back to this thread's pool (what dropping a tensor's storage does), for a
/// kernel's scratch that never becomes a tensor.
pub(crate) fn give<T: Element>(v: Vec<T>) {
    if v.capacity() < MIN_POOLED {
        return;
    }
    if v.capacity() * std::mem::size_of::<T>() > MAX_POOLED_BYTES {
        return;
    }
    T::with_pool(|pool| {
        // Oldest out first: buffers freed by the last step are the ones the next step needs.
        let size = |b: &Vec<T>| b.capacity() * std::mem::size_of::<T>();
        let mut bytes: usize = pool.iter().map(size).sum::<usize>() + size(&v);
        while !pool.is_empty() && (pool.len() >= MAX_POOLED_BUFFERS || bytes > MAX_POOLED_BYTES) {
            bytes -= size(&pool.remove(0));
        }
        pool.push(v);
    });
}

impl Drop for Storage {
    fn drop(&mut self) {
        match self {
            Storage::F32(v) => give(std::mem::take(v)),
            Storage::F64(v) => give(std::mem::take(v)),
        }
    }
}

impl Element for f32 {
    fn view(s: &Storage) -> &[f32] {
        match s {
            Storage::F32(v) => v,
            Storage::F64(_) => panic!("expected an f32 tensor, got f64"),
        }
    }
    fn view_mut(s: &mut Storage) -> &mut [f32] {
        match s {
            Storage::F32(v) => v,
            Storage::F64(_) => panic!("expected an f32 tensor, got f64"),
        }
    }
    fn wrap(v: Vec<f32>) -> Storage {
        Storage::F32(v)
    }
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f32>>) -> R) -> R {
        POOL_F32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Element for f64 {
    fn view(s: &Storage) -> &[f64] {
        match s {
            Storage::F64(v) => v,
            Storage::F32(_) => panic!("expected an f64 tensor, got f32"),
        }
    }
    fn view_mut(s: &mut Storage) -> &mut [f64] {
        match s {
            Storage::F64(v) => v,
            Storage::F32(_) => panic!("expected an f64 tensor, got f32"),
        }
    }
    fn wrap(v: Vec<f64>) -> Storage {
        Storage::F64(v)
    }
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f64>>) -> R) -> R {
        POOL_F64.with(|p| f(&mut p.borrow_mut()))
    }
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::dtype::DType::F32 => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            $crate::dtype::DType::F64 => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// Elementwise loops go parallel above this many elements; below it rayon's fork/join costs more.
pub(crate) const PAR_THRESHOLD: usize = 1 << 15;
/// Chunk length used by parallel elementwise loops.
pub(crate) const PAR_CHUNK: usize = 1 << 13;
