//! What ranks say to each other: a sum over every rank and a broadcast from rank 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The collective operations data-parallel training needs. Every rank calls each operation in
/// the same order with a buffer of the same length. A communicator is shared with the engine
/// for the length of a step (synchronised batch statistics call it from inside the forward and
/// backward passes, possibly on a pool thread), one call at a time.
pub trait Communicator: Send + Sync {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Each element summed over every rank, in place on each; every rank ends with the same
    /// bits.
    fn all_reduce_sum(&self, buf: &mut [f64]);
    /// The same for f32 values (gradients: half the bytes of f64).
    fn all_reduce_sum_f32(&self, buf: &mut [f32]);
    /// Rank 0's `buf` on every rank.
    fn broadcast(&self, buf: &mut [f64]);
    /// A new communicator over the same ranks with a message space of its own (MPI's
    /// `MPI_Comm_dup`). Every rank makes it together: each calls `split` the same number of
    /// times, in the same order.
    fn split(&self) -> Self
    where
        Self: Sized;
    /// Whether two threads of one rank may run collectives at the same time, each on its own
    /// communicator (from [`Communicator::split`]): what sending gradients while the backward
    /// pass goes on needs. MPI allows it at the "multiple" threading level.
    fn concurrent(&self) -> bool;
}

/// Ranks on threads of one process: `ThreadGroup::new(n)` gives one handle per rank, to move
/// into `n` threads (a clone is the same rank), or [`ThreadGroup::run`] runs a closure on each.
/// Sums add the ranks' values in rank order, so every rank gets the same bits. Prefer `run`:
/// ranks on plain threads share the engine's global pool, where a model large enough to run
/// its step there, with synchronised BatchNormalization, can leave one worker waiting on itself
/// (see `run`). Under `run`, a rank that panics breaks the group: the others panic at their
/// next collective (or in the one they wait in) instead of waiting forever.
#[derive(Clone)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
    /// How many groups this rank has split off (shared by the rank's clones).
    splits_made: Arc<AtomicUsize>,
}

struct Shared {
    size: usize,
    barrier: Gate,
    slots: Mutex<Vec<Vec<f64>>>,
    /// The groups split off this one, the k-th made by whichever rank asks for it first.
    splits: Mutex<Vec<Arc<Shared>>>,
}

impl Shared {
    fn new(size: usize) -> Arc<Shared> {
        Arc::new(Shared {
            size,
            barrier: Gate { size, state: Mutex::new(GateState::default()), cv: Condvar::new() },
            slots: Mutex::new(vec![Vec::new(); size]),
            splits: Mutex::new(Vec::new()),
        })
    }
}

impl Shared {
    /// Breaks this group's barrier and those of the groups split off it.
    fn break_all(&self) {
        self.barrier.break_open();
        for split in self.splits.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            split.break_all();
        }
    }
}

/// A barrier that a failed rank can break: the ranks waiting at it, and any that arrive later,
/// panic instead of waiting forever for a rank that will never come.
struct Gate {
    size: usize,
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    generation: u64,
    broken: bool,
}

const BROKEN: &str = "ThreadGroup: another rank panicked";

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn wait(&self) {
        let mut st = self.lock();
        assert!(!st.broken, "{BROKEN}");
        let generation = st.generation;
        st.arrived += 1;
        if st.arrived == self.size {
            st.arrived = 0;
            st.generation += 1;
            self.cv.notify_all();
            return;
        }
        while st.generation == generation && !st.broken {
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        assert!(st.generation != generation, "{BROKEN}");
    }
    fn break_open(&self) {
        self.lock().broken = true;
        self.cv.notify_all();
    }
}

impl ThreadGroup {
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        assert!(size > 0, "ThreadGroup::new: a group of 0 ranks");
        let shared = Shared::new(size);
        (0..size).map(|rank| ThreadGroup { rank, shared: shared.clone(), splits_made: Default::default() }).collect()
    }

    /// `f` on `size` ranks, each on a thread of its own with a one-thread pool of its own for
    /// the engine's kernels, and every rank's result in rank order. The pools keep ranks apart:
    /// on the shared global pool a worker waiting inside one rank's kernel could pick up another
    /// rank's whole step, and a collective inside that step would then wait on the rank
    /// suspended beneath it. A rank that panics breaks the group (see [`ThreadGroup`]), and
    /// `run` then panics too.
    pub fn run<R: Send>(size: usize, f: impl Fn(ThreadGroup) -> R + Sync) -> Vec<R> {
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = ThreadGroup::new(size)
                .into_iter()
                .map(|comm| {
                    s.spawn(move || {
                        let shared = comm.shared.clone();
                        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
                        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.install(|| f(comm))));
                        ran.unwrap_or_else(|panic| {
                            // The other ranks would wait for this one at their next collective.
                            shared.break_all();
                            std::panic::resume_unwind(panic)
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a rank panicked")).collect()
        })
    }

    /// Every rank's `buf` after a barrier, then `f` over them in rank order, then a barrier so
    /// no rank writes its slot again before all have read.
    fn exchange(&self, buf: &mut [f64], f: impl Fn(&[Vec<f64>], &mut [f64])) {
        self.shared.slots.lock().expect("a rank panicked")[self.rank] = buf.to_vec();
        self.shared.barrier.wait();
        f(&self.shared.slots.lock().expect("a rank panicked"), buf);
        self.shared.barrier.wait();
    }
}

impl Communicator for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        self.exchange(buf, |slots, out| {
            out.fill(0.0);
            for s in slots {
                assert_eq!(s.len(), out.len(), "all_reduce_sum: ranks gave buffers of different lengths");
                out.iter_mut().zip(s).for_each(|(o, v)| *o += v);
            }
        });
    }
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) {
        // Summed in f32, in rank order, as MPI's sum of f32 values.
        let mut wide: Vec<f64> = buf.iter().map(|&v| f64::from(v)).collect();
        self.exchange(&mut wide, |slots, out| {
            out.fill(0.0);
            let mut acc = vec![0f32; out.len()];
            for s in slots {
                assert_eq!(s.len(), out.len(), "all_reduce_sum_f32: ranks gave buffers of different lengths");
                acc.iter_mut().zip(s).for_each(|(a, v)| *a += *v as f32);
            }
            out.iter_mut().zip(&acc).for_each(|(o, a)| *o = f64::from(*a));
        });
        buf.iter_mut().zip(&wide).for_each(|(b, w)| *b = *w as f32);
    }
    fn broadcast(&self, buf: &mut [f64]) {
        self.exchange(buf, |slots, out| out.copy_from_slice(&slots[0]));
    }
    fn split(&self) -> Self {
        let k = self.splits_made.fetch_add(1, Ordering::SeqCst);
        let mut splits = self.shared.splits.lock().expect("a rank panicked");
        while splits.len() <= k {
            splits.push(Shared::new(self.shared.size));
        }
        ThreadGroup { rank: self.rank, shared: splits[k].clone(), splits_made: Default::default() }
    }
    fn concurrent(&self) -> bool {
        true
    }
}

/// MPI itself: create it once per process, at the start; it initialises MPI and finalises it
/// when dropped. [`Mpi::comm`] gives the communicator the ranks talk through.
#[cfg(feature = "mpi")]
pub struct Mpi {
    universe: mpi::environment::Universe,
    concurrent: bool,
}

#[cfg(feature = "mpi")]
impl Mpi {
    /// Initialises MPI. MPI is asked for the "multiple" threading level: a step's collectives
    /// run on one of the engine's pool threads while the gradients already finished are summed
    /// on a thread of their own, each on its own communicator. An MPI that offers "serialized"
    /// still runs, with the gradients summed after the backward pass
    /// ([`Communicator::concurrent`]); one that offers less (calls from the main thread only)
    /// is an error, as is MPI initialised already.
    pub fn init() -> Result<Mpi, String> {
        use mpi::Threading;
        let (universe, level) = mpi::initialize_with_threading(Threading::Multiple)
            .ok_or_else(|| "MPI was initialised already".to_string())?;
        match level {
            Threading::Multiple | Threading::Serialized => {
                Ok(Mpi { universe, concurrent: level == Threading::Multiple })
            }
            other => Err(format!(
                "MPI offers the {other:?} threading level; sinew calls MPI from its worker threads, one call at a \
                 time, which needs Serialized or Multiple (an MPI built with thread support)"
            )),
        }
    }
    /// A communicator over every rank (`mpirun -np N`), MPI's world duplicated.
    pub fn comm(&self) -> MpiComm {
        use mpi::traits::Communicator as _;
        MpiComm { world: self.universe.world().duplicate(), concurrent: self.concurrent }
    }
}

/// Every rank of the run, over MPI. A clone is a duplicate of the communicator (its own
/// message space), on the same ranks.
#[cfg(feature = "mpi")]
pub struct MpiComm {
    world: mpi::topology::SimpleCommunicator,
    concurrent: bool,
}

// SAFETY: an MPI communicator is a handle MPI itself owns. `Mpi::init` (the only way to one)
// refuses a threading level below "serialized": at "multiple" any thread may call MPI at any
// time; at "serialized" `concurrent` is false and data-parallel training makes one call at a
// time.
#[cfg(feature = "mpi")]
unsafe impl Send for MpiComm {}
#[cfg(feature = "mpi")]
unsafe impl Sync for MpiComm {}

#[cfg(feature = "mpi")]
impl Clone for MpiComm {
    fn clone(&self) -> Self {
        use mpi::traits::Communicator as _;
        MpiComm { world: self.world.duplicate(), concurrent: self.concurrent }
    }
}

#[cfg(feature = "mpi")]
impl Communicator for MpiComm {
    fn rank(&self) -> usize {
        use mpi::traits::Communicator as _;
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        use mpi::traits::Communicator as _;
        self.world.size() as usize
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        use mpi::collective::SystemOperation;
        use mpi::traits::CommunicatorCollectives as _;
        let send = buf.to_vec();
        self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
    }
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) {
        use mpi::collective::SystemOperation;
        use mpi::traits::CommunicatorCollectives as _;
        let send = buf.to_vec();
        self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
    }
    fn broadcast(&self, buf: &mut [f64]) {
        use mpi::traits::{Communicator as _, Root as _};
        self.world.process_at_rank(0).broadcast_into(buf);
    }
    fn split(&self) -> Self {
        self.clone()
    }
    fn concurrent(&self) -> bool {
        self.concurrent
    }
}
