//! Data-parallel training (issue 19), the way Keras' MirroredStrategy and PyTorch's DDP do it:
//! every rank holds the same model and walks the same shuffled order of the data; each global
//! batch is split among the ranks, each rank runs the forward and backward pass on its shard,
//! the gradients are summed across ranks (all-reduce, in buckets), and every rank applies the
//! same optimizer step to the same weights. The ranks talk through a [`Communicator`]: MPI
//! (feature `mpi`, `Mpi` and `MpiComm`) across processes and machines, or [`ThreadGroup`],
//! ranks on threads of one process, which the tests use to check the arithmetic without MPI.
//!
//! The global batch is what the user sets (`Fit::batch_size`). A batch of `n` rows gives rank
//! `r` a contiguous shard of `n / N` rows, one more for the first `n % N` ranks; a batch with
//! fewer rows than ranks (the last, short batch of an epoch) runs whole on rank 0 and the other
//! ranks add nothing, so no rank ever runs a step on zero rows. Each rank's mean-loss gradient
//! is weighted by its share of the rows before the sum, so the reduced gradient is the gradient
//! of the global batch's mean loss, as one process computes it, up to the order of the
//! additions.
//!
//! BatchNormalization keeps per-rank batch statistics by default (each rank's shard normalised
//! by its own moments, as Keras and DDP do); `BatchNormalization::new().synchronized(true)`
//! sums the moments over the ranks through the engine's [`sinew_tensor::runtime::Replicas`],
//! which [`DataParallel::fit`] sets for each step, so N ranks compute one process's step.
//!
//! The gradients are summed in buckets of about 1 MB ([`BUCKET_FLOATS`]), last layers first,
//! after the backward pass or, with [`DataParallel::overlap`], beside it: each bucket as soon
//! as the backward pass has finished it, on an exchange thread of the rank's own.

mod comm;
mod exchange;
mod parallel;

pub use comm::{Communicator, ThreadGroup};
#[cfg(feature = "mpi")]
pub use comm::{Mpi, MpiComm};
pub use exchange::BUCKET_FLOATS;
pub use parallel::{shard, DataParallel};
