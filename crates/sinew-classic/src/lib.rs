//! The notes' unsupervised classics that are not trained by backpropagation, on sinew's engine
//! (issue 17). Today: the self-organizing map ([`Som`]), with MiniSom's semantics. Restricted
//! Boltzmann machines, deep belief networks and word2vec are to come.

mod som;

pub use som::{Neighborhood, Som, SomOptions, Topology};
