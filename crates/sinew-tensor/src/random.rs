//! Seeded random tensors. Every random op takes an explicit [`Rng`], so a seed reproduces a run.

use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// A seeded random generator (ChaCha-based `StdRng`).
pub struct Rng(rand::rngs::StdRng);

impl Rng {
    pub fn seed(seed: u64) -> Self {
        Rng(rand::rngs::StdRng::seed_from_u64(seed))
    }
    /// A generator seeded from the operating system.
    pub fn from_entropy() -> Self {
        Rng(rand::rngs::StdRng::from_os_rng())
    }
    /// A uniform `f64` in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    /// A uniform integer in `[0, n)`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }
    /// A fresh `u64` (to seed a derived generator).
    pub fn next_u64(&mut self) -> u64 {
        self.0.random::<u64>()
    }
    /// Fills `dst` with uniform 32-bit words (block-wise from the generator, much faster than one
    /// call per value).
    pub fn fill_u32(&mut self, dst: &mut [u32]) {
        self.0.fill(dst);
    }
    /// A fast stream for bulk random words (dropout masks): Xoshiro256++ (`rand`'s `SmallRng`),
    /// seeded from this generator, so it stays reproducible from the model seed. Drawing the
    /// masks from the ChaCha-based main generator was a fifth of a dropout MLP's training step.
    pub fn stream(&mut self) -> rand::rngs::SmallRng {
        rand::rngs::SmallRng::seed_from_u64(self.next_u64())
    }
    /// A standard normal sample.
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.0)
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

impl Tensor {
    /// Uniform in `[lo, hi)`.
    pub fn rand_uniform(shape: impl Into<Shape>, lo: f64, hi: f64, rng: &mut Rng) -> Tensor {
        assert!(lo <= hi, "rand_uniform: lo {lo} > hi {hi}");
        let shape = shape.into();
        let v = (0..shape.numel()).map(|_| (lo + (hi - lo) * rng.next_f64()) as f32).collect();
        Tensor::from_vec(v, shape)
    }
    /// Normal with the given mean and standard deviation.
    pub fn rand_normal(shape: impl Into<Shape>, mean: f64, std: f64, rng: &mut Rng) -> Tensor {
        assert!(std >= 0.0, "rand_normal: std must be >= 0, got {std}");
        let shape = shape.into();
        let v = (0..shape.numel()).map(|_| (mean + std * rng.normal()) as f32).collect();
        Tensor::from_vec(v, shape)
    }
    /// Normal, with samples beyond two standard deviations redrawn (Keras `TruncatedNormal`).
    pub fn truncated_normal(shape: impl Into<Shape>, mean: f64, std: f64, rng: &mut Rng) -> Tensor {
        assert!(std >= 0.0, "truncated_normal: std must be >= 0, got {std}");
        let shape = shape.into();
        let v = (0..shape.numel())
            .map(|_| loop {
                let z = rng.normal();
                if z.abs() <= 2.0 {
                    break (mean + std * z) as f32;
                }
            })
            .collect();
        Tensor::from_vec(v, shape)
    }
    /// 1.0 with probability `p`, else 0.0.
    pub fn bernoulli(shape: impl Into<Shape>, p: f64, rng: &mut Rng) -> Tensor {
        assert!((0.0..=1.0).contains(&p), "bernoulli: p must be in [0, 1], got {p}");
        let shape = shape.into();
        let v = (0..shape.numel()).map(|_| if rng.next_f64() < p { 1.0 } else { 0.0 }).collect();
        Tensor::from_vec(v, shape)
    }
}
