//! `MinibatchDiscrimination` (Salimans et al. 2016, "Improved Techniques for Training GANs",
//! section 3.2): a discriminator layer that lets each sample see how close it is to the others
//! in its batch, so a generator that collapses to one mode is caught by the batch it makes.
//! No peer ships it (Keras, PyTorch, burn and candle leave it to user code).

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// On features `f` of shape `[batch, A]`: `M = f · T` reshaped to `[batch, B, C]` (the
    /// learned tensor `T` is the `kernel`, `[A, B·C]`), then for each sample `i` and kernel `b`
    /// `o[i, b] = Σ_{j ≠ i} exp(-‖M[i, b] - M[j, b]‖₁)`, and the output is `[f, o]`,
    /// `[batch, A + B]`. Samples alike score high on every kernel. The batch is the one the layer
    /// is called on, so the discriminator should see real and generated samples in separate
    /// batches (or the statistic mixes them); in inference it runs on whatever batch it is given.
    pub struct MinibatchDiscrimination("MinibatchDiscrimination") {
        new(num_kernels: usize, kernel_dim: usize),
        kernel_initializer: Initializer = Initializer::GlorotUniform,
    }
}

impl LayerConfig for MinibatchDiscrimination {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        if self.num_kernels == 0 || self.kernel_dim == 0 {
            return Err(Error::invalid(format!(
                "MinibatchDiscrimination: num_kernels and kernel_dim must be positive integers, got {} and {}",
                self.num_kernels, self.kernel_dim
            )));
        }
        let &[features] = input else {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: MinibatchDiscrimination needs features [batch, n], got per-sample shape {input:?}"
            )));
        };
        let kernel = self.kernel_initializer.init(&[features, self.num_kernels * self.kernel_dim], rng);
        Ok(Box::new(MinibatchLayer {
            cfg: self.clone(),
            name,
            params: vec![Param::trainable("kernel", kernel)],
            out: vec![features + self.num_kernels],
        }))
    }
}

/// A built [`MinibatchDiscrimination`].
#[derive(Clone)]
pub struct MinibatchLayer {
    cfg: MinibatchDiscrimination,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
}

impl Layer for MinibatchLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        MinibatchDiscrimination::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, f: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let (n, b, c) = (f.dims()[0], self.cfg.num_kernels, self.cfg.kernel_dim);
        let m = f.matmul(&self.params[0].value).reshape([n, b, c]);
        // Every pair's L1 distance per kernel: [n, 1, B, C] - [1, n, B, C] summed over C.
        let dist = m.reshape([n, 1, b, c]).sub(&m.reshape([1, n, b, c])).abs().sum(&[3], false);
        // exp(-0) = 1 for each sample against itself, taken back out.
        let o = dist.neg().exp().sum(&[1], false).add_scalar(-1.0);
        Tensor::concat(&[f, &o], 1)
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), MinibatchDiscrimination::CLASS, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_score_the_batch_size_less_one_and_distant_ones_zero() {
        let mut layer = MinibatchDiscrimination::new(2, 3).build("mbd".into(), &[4], &mut Rng::seed(0)).unwrap();
        let mut ctx = Ctx { training: true, rng: &mut Rng::seed(1) };
        let same = Tensor::ones([5, 4]);
        let o = layer.forward(&same, &mut ctx).narrow(1, 4, 2).to_vec_f32();
        assert!(o.iter().all(|&v| (v - 4.0).abs() < 1e-5), "{o:?}");
        let far = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 1e4, -1e4, 1e4, -1e4], [2, 4]);
        let y = layer.forward(&far, &mut ctx);
        assert_eq!(y.dims(), &[2, 6]);
        assert_eq!(y.narrow(1, 0, 4).to_vec_f32(), far.to_vec_f32(), "the features pass through");
        assert!(y.narrow(1, 4, 2).to_vec_f32().iter().all(|&v| v < 1e-6));
    }
}
