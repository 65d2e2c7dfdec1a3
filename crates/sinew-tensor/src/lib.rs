//! sinew's engine: one concrete [`Tensor`] type (f32 for work, f64 for gradient checks), reverse-mode
//! autograd recorded per op, and fast CPU kernels (GEMM via the `gemm` crate, im2col convolution,
//! pooling, upsampling).
//!
//! Error policy: ops panic on programmer error, naming the op and the shapes involved (for
//! example `matmul: inner dimensions differ: [2, 3] · [4, 5]`). Shape validation of user models
//! happens at model build time, in higher crates, which return `Result`.

mod activation;
mod autograd;
mod dtype;
pub mod kernels;
mod ops;
mod random;
pub mod runtime;
mod shape;
mod storage;
mod tensor;

pub use activation::Activation;
pub use autograd::{is_grad_enabled, no_grad, Gradients, NoGradGuard, Op};
pub use dtype::{DType, Float};
pub use ops::conv::{Conv1dOpts, Conv2dOpts, ConvTranspose2dOpts};
pub use ops::pool::Pool2dOpts;
pub use ops::recurrent::{RecurrentCell, RecurrentInputs, RecurrentOpts};
pub use random::{Rng, RngState};
pub use shape::Shape;
pub use tensor::{Tensor, TensorId};
