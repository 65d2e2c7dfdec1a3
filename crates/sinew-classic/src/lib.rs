//! The notes' unsupervised classics that are not trained by backpropagation, on sinew's engine
//! (issue 17). Today: the self-organizing map ([`Som`]) with MiniSom's semantics, the restricted
//! Boltzmann machine ([`Rbm`]) with scikit-learn's `BernoulliRBM` update, and the deep belief
//! network ([`Dbn`]) that stacks RBMs and unrolls them into a `Sequential` MLP.
//! word2vec is to come.

mod dbn;
mod rbm;
mod som;

pub use dbn::Dbn;
pub use rbm::{Rbm, RbmEpoch, RbmOptions, VisibleUnits};
pub use som::{Neighborhood, Som, SomOptions, Topology};
