//! `Sampling`: the reparameterisation trick of a variational autoencoder, the layer the Keras
//! VAE example and the notes write by hand.

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// Called on `[z_mean, z_log_var]`, returns `z = z_mean + exp(z_log_var / 2) * eps` with
    /// `eps ~ N(0, 1)` drawn from the model's seeded generator, in training and inference alike
    /// (as the Keras layer). Gradients reach both inputs.
    ///
    /// With `kl_weight > 0` the layer also adds `kl_weight` times the batch mean of
    /// `KL(N(z_mean, exp(z_log_var)) || N(0, 1)) = -0.5 * sum(1 + z_log_var - z_mean^2 -
    /// exp(z_log_var))` (summed over the latent axis) to the model's loss, in training and
    /// evaluation: Keras' `add_loss` of the notes' VAE, carried by the layer that knows the two
    /// tensors. With the reconstruction loss weighted by the number of pixels (a per-pixel mean
    /// times its count is the sum), the total is the usual negative ELBO per sample.
    pub struct Sampling("Sampling") {
        new(),
        /// The weight of the KL term added to the loss; 0 adds nothing.
        kl_weight: f64 = 0.0,
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerConfig for Sampling {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        self.build_many(name, &[input.to_vec()], rng)
    }
    fn build_many(&self, name: String, shapes: &[Vec<usize>], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
        if !(self.kl_weight >= 0.0 && self.kl_weight.is_finite()) {
            return Err(Error::invalid(format!(
                "Sampling: kl_weight must be a finite float >= 0, got {}",
                self.kl_weight
            )));
        }
        match shapes {
            [mean, log_var] if mean == log_var => {
                Ok(Box::new(SamplingLayer { cfg: self.clone(), name, out: mean.clone(), kl: None }))
            }
            _ => {
                Err(Error::shape(format!("{name} (Sampling): needs [z_mean, z_log_var] of one shape, got {shapes:?}")))
            }
        }
    }
}

/// A built [`Sampling`].
#[derive(Clone)]
pub struct SamplingLayer {
    cfg: Sampling,
    name: String,
    out: Vec<usize>,
    /// The KL term of the last forward pass, taken by `regularization_loss`.
    kl: Option<Tensor>,
}

impl Layer for SamplingLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(SamplingLayer { kl: None, ..self.clone() }))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        Sampling::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, _x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        panic!("{} (Sampling): call it on [z_mean, z_log_var]", self.name)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        assert_eq!(xs.len(), 2, "{} (Sampling): expects [z_mean, z_log_var], got {} inputs", self.name, xs.len());
        let (mean, log_var) = (&xs[0], &xs[1]);
        let eps = Tensor::rand_normal(mean.dims(), 0.0, 1.0, ctx.rng).to_dtype(mean.dtype());
        if self.cfg.kl_weight > 0.0 {
            // -0.5 * sum(1 + lv - mu^2 - exp(lv)) per sample, then the batch mean.
            let per_dim = log_var.add_scalar(1.0).sub(&mean.square()).sub(&log_var.exp());
            let axes: Vec<isize> = (1..mean.rank() as isize).collect();
            let kl = per_dim.sum(&axes, false).mean_all().mul_scalar(-0.5 * self.cfg.kl_weight);
            self.kl = Some(kl);
        }
        mean.add(&log_var.mul_scalar(0.5).exp().mul(&eps))
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.kl.take()
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), Sampling::CLASS, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_adds_the_kl_term_once_and_reparameterises() {
        let mut layer =
            Sampling::new().kl_weight(2.0).build_many("s".into(), &[vec![2], vec![2]], &mut Rng::seed(0)).unwrap();
        let mean = Tensor::from_vec(vec![1.0, 0.0], [1, 2]);
        let log_var = Tensor::from_vec(vec![0.0, 2f32.ln()], [1, 2]);
        let z =
            layer.forward_many(&[mean.clone(), log_var.clone()], &mut Ctx { training: false, rng: &mut Rng::seed(4) });
        // KL(N(1, 1) || N(0, 1)) + KL(N(0, 2) || N(0, 1)) = 0.5 + (2 - 1 - ln 2) / 2.
        let kl = layer.regularization_loss().unwrap().item();
        assert!((kl - 2.0 * (0.5 + (1.0 - 2f64.ln()) / 2.0)).abs() < 1e-6, "{kl}");
        assert!(layer.regularization_loss().is_none(), "the KL term is taken once per forward pass");
        let eps = Tensor::rand_normal([1, 2], 0.0, 1.0, &mut Rng::seed(4)).to_vec_f32();
        let z = z.to_vec_f32();
        assert!((z[0] - (1.0 + eps[0])).abs() < 1e-6 && (z[1] - 2f32.sqrt() * eps[1]).abs() < 1e-6, "{z:?} {eps:?}");
        let e = Sampling::new().build_many("s".into(), &[vec![2], vec![3]], &mut Rng::seed(0)).err().unwrap();
        assert!(e.message.contains("needs [z_mean, z_log_var] of one shape"), "{}", e.message);
    }
}
