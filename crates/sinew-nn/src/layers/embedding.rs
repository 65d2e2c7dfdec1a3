//! Keras `Embedding`: integer ids to learned vectors.

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// Keras `Embedding`: looks up row `id` of `embeddings` `[input_dim, output_dim]` for every id
    /// of the input. Input: ids of any shape, as numbers (`[timesteps]` for text). Output: the
    /// input's shape with `output_dim` appended.
    pub struct Embedding("Embedding") {
        new(input_dim: usize, output_dim: usize),
        /// Keras' `uniform`: uniform in ±0.05.
        embeddings_initializer: Initializer = Initializer::RandomUniform { minval: -0.05, maxval: 0.05 },
        /// A penalty on the embeddings added to the loss.
        embeddings_regularizer: Option<Regularizer> = None,
        /// A projection of the embeddings after every optimizer step.
        embeddings_constraint: Option<Constraint> = None,
        /// Id 0 is padding: the output carries a mask that recurrent layers downstream skip
        /// (so id 0 cannot be a word of the vocabulary).
        mask_zero: bool = false,
    }
}

impl LayerConfig for Embedding {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::invalid(format!(
                "Embedding: input_dim and output_dim must be positive integers, got {} and {}",
                self.input_dim, self.output_dim
            )));
        }
        let mut table =
            Param::trainable("embeddings", self.embeddings_initializer.init(&[self.input_dim, self.output_dim], rng));
        (table.regularizer, table.constraint) = (self.embeddings_regularizer, self.embeddings_constraint);
        let mut out = input.to_vec();
        out.push(self.output_dim);
        let config = named_config(self.args(), Self::CLASS, &name);
        let mask_zero = self.mask_zero;
        Ok(Box::new(EmbeddingLayer { input_dim: self.input_dim, mask_zero, config, name, params: vec![table], out }))
    }
}

/// A built [`Embedding`].
#[derive(Clone)]
pub struct EmbeddingLayer {
    input_dim: usize,
    mask_zero: bool,
    config: Value,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
}

impl Layer for EmbeddingLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        Embedding::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let ids = x.to_indices(self.input_dim, &format!("{} (Embedding, input_dim {})", self.name, self.input_dim));
        let mut dims = x.dims().to_vec();
        dims.push(self.out[self.out.len() - 1]);
        self.params[0].value.index_select(0, &ids).reshape(dims)
    }
    fn compute_mask(&self, x: &Tensor, _mask: Option<&Tensor>) -> Option<Tensor> {
        self.mask_zero.then(|| x.detach().ne(&x.zeros_like()))
    }
    fn embedding_table(&self) -> Option<&Tensor> {
        Some(&self.params[0].value)
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
}

declare_layer! {
    /// Keras `Masking`: timesteps whose features all equal `mask_value` are padding. They are
    /// zeroed, and the output carries a mask that recurrent layers downstream skip.
    /// Input `[timesteps, features]`; output the same.
    pub struct Masking("Masking") {
        new(),
        /// The padding value.
        mask_value: f64 = 0.0,
    }
}

impl Masking {
    /// 1 where any feature of a step differs from `mask_value`, `(batch, timesteps)`.
    fn mask_of(&self, x: &Tensor) -> Tensor {
        let x = x.detach();
        x.ne(&x.full_like(self.mask_value)).max(&[-1], false)
    }
}

impl LayerConfig for Masking {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
        if input.len() < 2 {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: Masking expects [timesteps, features], got {input:?}"
            )));
        }
        let config = named_config(self.args(), Self::CLASS, &name);
        Ok(Box::new(MaskingLayer { cfg: self.clone(), config, name, out: input.to_vec() }))
    }
}

/// A built [`Masking`].
#[derive(Clone)]
pub struct MaskingLayer {
    cfg: Masking,
    config: Value,
    name: String,
    out: Vec<usize>,
}

impl Layer for MaskingLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        Masking::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        x.mul(&self.cfg.mask_of(x).unsqueeze(-1))
    }
    fn compute_mask(&self, x: &Tensor, _mask: Option<&Tensor>) -> Option<Tensor> {
        Some(self.cfg.mask_of(x))
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
}
