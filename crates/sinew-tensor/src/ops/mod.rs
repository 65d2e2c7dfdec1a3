//! Tensor ops. Each file holds a family; each op's backward rule sits next to its forward and
//! goes through `autograd::record`.

pub(crate) mod binary;
pub(crate) mod conv;
pub(crate) mod fused;
pub(crate) mod index;
pub(crate) mod layout;
pub(crate) mod matmul;
pub(crate) mod pool;
pub(crate) mod recurrent;
pub(crate) mod reduce;
pub(crate) mod softmax;
pub(crate) mod unary;
