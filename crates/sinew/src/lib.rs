//! sinew: deep learning for Rust with the ergonomics of Keras. This facade is the only crate users
//! add; it re-exports a curated API and a [`prelude`].
//!
//! The README follows; its code sample runs as a doctest.
#![doc = include_str!("../../../README.md")]

pub mod datasets;

pub use sinew_tensor as tensor;
pub use sinew_tensor::{no_grad, Activation, Conv2dOpts, DType, Gradients, Pool2dOpts, Rng, Shape, Tensor};

/// The names most programs need.
pub mod prelude {
    pub use sinew_tensor::{no_grad, Activation, Conv2dOpts, DType, Gradients, Pool2dOpts, Rng, Shape, Tensor};
}
