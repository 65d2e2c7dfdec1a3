//! Data-parallel training (issue 19), the way Keras' MirroredStrategy and PyTorch's DDP do it:
//! every rank holds the same model and walks the same shuffled order of the data; each global
//! batch is split among the ranks, each rank runs the forward and backward pass on its shard,
//! the gradients are summed across ranks (all-reduce, in buckets), and every rank applies the
//! same optimizer step to the same weights. The ranks talk through a [`Communicator`]: MPI
//! (feature `mpi`, `Mpi` and `MpiComm`) across processes and machines, or [`ThreadGroup`], ranks on threads
//! of one process, which the tests use to check the arithmetic without MPI.
//!
//! The global batch is what the user sets (`Fit::batch_size`). A batch of `n` rows gives rank
//! `r` a contiguous shard of `n / N` rows, one more for the first `n % N` ranks; a rank whose
//! shard is empty (the last, short batch of an epoch with fewer rows than ranks) runs no step
//! and adds nothing. Each rank's mean-loss gradient is weighted by its share of the rows before
//! the sum, so the reduced gradient is the gradient of the global batch's mean loss, as one
//! process computes it, up to the order of the additions.

mod comm;
mod parallel;

pub use comm::{Communicator, ThreadGroup};
#[cfg(feature = "mpi")]
pub use comm::{Mpi, MpiComm};
pub use parallel::{shard, DataParallel, BUCKET_FLOATS};
