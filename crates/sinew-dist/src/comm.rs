//! What ranks say to each other: a sum over every rank and a broadcast from rank 0.

use std::sync::{Arc, Barrier, Mutex};

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
}

/// Ranks on threads of one process: `ThreadGroup::new(n)` gives one handle per rank, to move
/// into `n` threads (a clone is the same rank), or [`ThreadGroup::run`] runs a closure on each.
/// Sums add the ranks' values in rank order, so every rank gets the same bits.
#[derive(Clone)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

struct Shared {
    size: usize,
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
}

impl ThreadGroup {
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        assert!(size > 0, "ThreadGroup::new: a group of 0 ranks");
        let shared = Arc::new(Shared { size, barrier: Barrier::new(size), slots: Mutex::new(vec![Vec::new(); size]) });
        (0..size).map(|rank| ThreadGroup { rank, shared: shared.clone() }).collect()
    }

    /// `f` on `size` ranks, each on a thread of its own with a one-thread pool of its own for
    /// the engine's kernels, and every rank's result in rank order. The pools keep ranks apart:
    /// on the shared global pool a worker waiting inside one rank's kernel could pick up another
    /// rank's whole step, and a collective inside that step would then wait on the rank
    /// suspended beneath it.
    pub fn run<R: Send>(size: usize, f: impl Fn(ThreadGroup) -> R + Sync) -> Vec<R> {
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = ThreadGroup::new(size)
                .into_iter()
                .map(|comm| {
                    s.spawn(move || {
                        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
                        pool.install(|| f(comm))
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
}

/// MPI itself: create it once per process, at the start; it initialises MPI and finalises it
/// when dropped. [`Mpi::comm`] gives the communicator the ranks talk through.
#[cfg(feature = "mpi")]
pub struct Mpi {
    universe: mpi::environment::Universe,
}

#[cfg(feature = "mpi")]
impl Mpi {
    /// Initialises MPI; `None` when it was initialised already. MPI is asked for the
    /// "serialized" threading level: a step's collectives may run on one of the engine's pool
    /// threads, never two at once.
    pub fn init() -> Option<Mpi> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)?;
        Some(Mpi { universe })
    }
    /// A communicator over every rank (`mpirun -np N`), MPI's world duplicated.
    pub fn comm(&self) -> MpiComm {
        use mpi::traits::Communicator as _;
        MpiComm { world: self.universe.world().duplicate() }
    }
}

/// Every rank of the run, over MPI. A clone is a duplicate of the communicator (its own
/// message space), on the same ranks.
#[cfg(feature = "mpi")]
pub struct MpiComm {
    world: mpi::topology::SimpleCommunicator,
}

// SAFETY: an MPI communicator is a handle MPI itself owns; MPI is initialised at the
// "serialized" level (`Mpi::init`), which allows calls from any thread as long as no two run
// at once, and data-parallel training makes one collective call at a time.
#[cfg(feature = "mpi")]
unsafe impl Send for MpiComm {}
#[cfg(feature = "mpi")]
unsafe impl Sync for MpiComm {}

#[cfg(feature = "mpi")]
impl Clone for MpiComm {
    fn clone(&self) -> Self {
        use mpi::traits::Communicator as _;
        MpiComm { world: self.world.duplicate() }
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
}
