//! The notes' unsupervised classics that are not trained by backpropagation, on sinew's engine
//! (issue 17). Today: the self-organizing map ([`Som`]) with MiniSom's semantics, the restricted
//! Boltzmann machine ([`Rbm`]) with scikit-learn's `BernoulliRBM` update, and the deep belief
//! network ([`Dbn`]) that stacks RBMs and unrolls them into a `Sequential` MLP; word2vec
//! ([`Word2Vec`]) with gensim's defaults, and fastText's subword embeddings.

mod dbn;
mod rbm;
mod som;
mod word2vec;

pub use dbn::Dbn;
pub use rbm::{Rbm, RbmEpoch, RbmOptions, VisibleUnits};
pub use som::{Neighborhood, Som, SomOptions, Topology};
pub use word2vec::{simple_words, Architecture, KeyedVectors, Subwords, Word2Vec, Word2VecOptions};
