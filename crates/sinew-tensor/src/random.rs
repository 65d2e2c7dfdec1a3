//! Seeded random tensors. Every random op takes an explicit [`Rng`], so a seed reproduces a run.

use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// A seeded random generator: ChaCha12, what `rand`'s `StdRng` is, held directly so that its
/// position can be saved and restored ([`Rng::state`]).
pub struct Rng(rand_chacha::ChaCha12Rng);

/// Where a generator stands: its key, stream and word position, 48 bytes. A generator rebuilt
/// from it ([`Rng::from_state`]) continues with the same numbers; `BackupAndRestore` saves it so
/// a resumed fit shuffles and drops out exactly as the uninterrupted one would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngState {
    pub seed: [u8; 32],
    pub stream: u64,
    pub word_pos: u128,
}

impl RngState {
    /// The state as 64 hex digits of key, 16 of stream and 32 of position.
    pub fn to_hex(&self) -> String {
        let mut s: String = self.seed.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!("{:016x}{:032x}", self.stream, self.word_pos));
        s
    }
    /// Reads [`RngState::to_hex`]'s text; `None` when it is not that.
    pub fn from_hex(s: &str) -> Option<RngState> {
        if s.len() != 112 || !s.is_ascii() {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        let stream = u64::from_str_radix(&s[64..80], 16).ok()?;
        let word_pos = u128::from_str_radix(&s[80..112], 16).ok()?;
        Some(RngState { seed, stream, word_pos })
    }
}

impl Rng {
    pub fn seed(seed: u64) -> Self {
        Rng(rand_chacha::ChaCha12Rng::seed_from_u64(seed))
    }
    /// A generator seeded from the operating system.
    pub fn from_entropy() -> Self {
        Rng(rand_chacha::ChaCha12Rng::from_os_rng())
    }
    /// Where this generator stands, to continue it later with [`Rng::from_state`].
    pub fn state(&self) -> RngState {
        RngState { seed: self.0.get_seed(), stream: self.0.get_stream(), word_pos: self.0.get_word_pos() }
    }
    /// The generator at `state`: it draws what the saved one would have drawn next.
    pub fn from_state(state: &RngState) -> Self {
        let mut r = rand_chacha::ChaCha12Rng::from_seed(state.seed);
        r.set_stream(state.stream);
        r.set_word_pos(state.word_pos);
        Rng(r)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_continues_the_same_numbers() {
        let mut a = Rng::seed(7);
        // An odd number of 32-bit words, so the saved position is inside a ChaCha block.
        let mut skip = [0u32; 37];
        a.fill_u32(&mut skip);
        let saved = a.state();
        let next: Vec<u64> = (0..50).map(|_| a.next_u64()).collect();
        let text = saved.to_hex();
        let mut b = Rng::from_state(&RngState::from_hex(&text).expect("round trip"));
        assert_eq!((0..50).map(|_| b.next_u64()).collect::<Vec<_>>(), next);
        assert_eq!(RngState::from_hex("zz"), None);
    }

    #[test]
    fn the_stream_is_rands_std_rng() {
        // Seeds written before the generator was held as ChaCha12 directly draw the same numbers.
        let mut a = Rng::seed(42);
        let mut b = rand::rngs::StdRng::seed_from_u64(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.random::<u64>());
        }
    }
}
