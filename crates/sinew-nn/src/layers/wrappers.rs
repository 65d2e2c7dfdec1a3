//! Layer wrappers: variants of a layer that reuse its forward pass rather than branching inside
//! it (STYLE.md: a variant is a wrapper).

use super::declare::{declare_layer, named_config, Declared};
use crate::activation::Activation;
use crate::error::Result;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::layers::core::{Dense, DenseLayer};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// Weight normalization (Salimans & Kingma 2016) of a Dense layer: the kernel is
    /// `v * (g / ||v||)`, with one norm per output unit, so its direction (`v`) and length (`g`)
    /// are learned separately. At build, `g = ||v||`, so the wrapped layer starts as the plain one.
    ///
    /// Weights: `kernel` (the direction `v`), `g` (`[units]`), and `bias` if the Dense has one.
    pub struct WeightNormalization("WeightNormalization") {
        new(layer: Dense),
    }
}

impl LayerConfig for WeightNormalization {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let dense = DenseLayer::build_concrete(&self.layer, format!("{name}/dense"), input, rng)?;
        let v = dense.kernel().value.detach();
        let g = v.square().sum(&[0], false).sqrt();
        let layer = WeightNormLayer { cfg: self.clone(), name, g: Param::trainable("g", g), dense, out: vec![] };
        Ok(Box::new(layer.with_out(input)))
    }
}

/// A built [`WeightNormalization`].
#[derive(Clone)]
pub struct WeightNormLayer {
    cfg: WeightNormalization,
    name: String,
    g: Param,
    dense: DenseLayer,
    out: Vec<usize>,
}

impl WeightNormLayer {
    fn with_out(mut self, input: &[usize]) -> Self {
        self.out = input.to_vec();
        *self.out.last_mut().expect("Dense checked the input rank") = self.dense.units();
        self
    }
    fn kernel(&self) -> Tensor {
        let v = &self.dense.kernel().value;
        v.mul(&self.g.value.div(&v.square().sum(&[0], true).sqrt()))
    }
}

impl Layer for WeightNormLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        WeightNormalization::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let k = self.kernel();
        self.dense.forward_with_kernel(x, &k)
    }
    fn forward_logits(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Option<(Tensor, Activation)> {
        let k = self.kernel();
        self.dense.logits_with_kernel(x, &k)
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.dense.regularization_loss()
    }
    fn params(&self) -> Vec<&Param> {
        let mut p = vec![self.dense.kernel(), &self.g];
        p.extend(self.dense.bias());
        p
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut p = vec![&mut self.g];
        p.extend(self.dense.params_mut());
        // Keep the documented order: kernel, g, bias.
        p.swap(0, 1);
        p
    }
    fn config(&self) -> Value {
        let mut v = named_config(self.cfg.args(), WeightNormalization::CLASS, &self.name);
        // The built inner layer's config, with the name it was given.
        v["layer"] = self.dense.config();
        v
    }
}
