//! What the training tests share.
#![allow(dead_code)]

use sinew_tensor::{Rng, Tensor};

/// Two Gaussian blobs in 4 dimensions, `n` samples, labels 0/1 as `[n, 1]`.
pub fn blobs(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Rng::seed(seed);
    let y = Tensor::bernoulli([n, 1], 0.5, &mut rng);
    let x = Tensor::rand_normal([n, 4], 0.0, 1.0, &mut rng).add(&y.affine(3.0, -1.5));
    (x, y)
}
