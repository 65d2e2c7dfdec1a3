//! Keras' activation layers: `ReLU` (with `max_value`, `negative_slope`, `threshold`),
//! `LeakyReLU`, `PReLU` (a learned slope, per channel with `shared_axes`), `ELU` and
//! `Softmax(axis)`. The `Activation` layer (any activation by name) is in `core.rs`.

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{Rng, Shape, Tensor};

declare_layer! {
    /// Keras `ReLU`: `max_value` if `x >= max_value`, `x` if `threshold < x < max_value`, and
    /// `negative_slope * (x - threshold)` below the threshold (Keras' formula, `keras.activations.relu`).
    /// With the defaults it is the plain `relu`. Input and output shapes are the same.
    pub struct ReLU("ReLU") {
        new(),
        /// The largest output (`None`: unbounded). Non-negative.
        max_value: Option<f64> = None,
        /// The slope below the threshold. Non-negative.
        negative_slope: f64 = 0.0,
        /// Inputs at or below it are "negative".
        threshold: f64 = 0.0,
    }
}

impl ReLU {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if self.max_value.is_some_and(|m| !(m >= 0.0)) {
            return Err(Error::invalid(format!(
                "ReLU: max_value must be a non-negative float or None, got {}",
                self.max_value.unwrap_or_default()
            )));
        }
        if !(self.negative_slope >= 0.0) {
            return Err(Error::invalid(format!(
                "ReLU: negative_slope must be a non-negative float, got {}",
                self.negative_slope
            )));
        }
        if !self.threshold.is_finite() {
            return Err(Error::invalid(format!("ReLU: threshold must be a finite float, got {}", self.threshold)));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let (slope, t) = (self.negative_slope, self.threshold);
        if self.max_value.is_none() && t == 0.0 {
            // The engine's fused kernels.
            return if slope == 0.0 { x.relu() } else { x.leaky_relu(slope) };
        }
        // Keras: the part above the threshold, clipped to [0, max_value], minus the slope times
        // the part below it.
        let mut y = if t != 0.0 { x.mul(&x.gt(&Tensor::full(Shape::scalar(), t, x.dtype()))) } else { x.relu() };
        if let Some(m) = self.max_value {
            y = y.clamp(0.0, m);
        }
        if slope != 0.0 {
            y = y.sub(&x.affine(-1.0, t).relu().mul_scalar(slope));
        }
        y
    }
}
stateless_layer!(ReLU, BuiltReLU);

declare_layer! {
    /// Keras `LeakyReLU`: `x` for `x >= 0`, `negative_slope * x` below. Note the layer's default
    /// slope is 0.3, while the `leaky_relu` activation's is 0.2 (as in Keras 3).
    pub struct LeakyReLU("LeakyReLU") {
        new(),
        /// The slope for negative inputs. Non-negative.
        negative_slope: f64 = 0.3,
    }
}

impl LeakyReLU {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if !(self.negative_slope >= 0.0) {
            return Err(Error::invalid(format!(
                "LeakyReLU: negative_slope must be a non-negative float, got {}",
                self.negative_slope
            )));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.leaky_relu(self.negative_slope)
    }
}
stateless_layer!(LeakyReLU, BuiltLeakyReLU);

declare_layer! {
    /// Keras `ELU`: `x` for `x > 0`, `alpha * (exp(x) - 1)` below.
    pub struct ELU("ELU") {
        new(),
        /// The scale of the negative part.
        alpha: f64 = 1.0,
    }
}

impl ELU {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if !self.alpha.is_finite() {
            return Err(Error::invalid(format!("ELU: alpha must be a finite float, got {}", self.alpha)));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.elu(self.alpha)
    }
}
stateless_layer!(ELU, BuiltELU);

declare_layer! {
    /// Keras `Softmax`: normalises over `axis` of the batched input (`-1`, the last, by default).
    pub struct Softmax("Softmax") {
        new(),
        /// The axis of the batched tensor (negative counts from the end; 0 is the batch).
        axis: isize = -1,
    }
}

impl Softmax {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        let rank = input.len() as isize + 1;
        if self.axis < -rank || self.axis >= rank {
            return Err(Error::shape(format!(
                "Softmax: axis {} is out of range for an input of rank {rank} (per-sample shape {input:?})",
                self.axis
            )));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.softmax(self.axis)
    }
}
stateless_layer!(Softmax, BuiltSoftmax);

declare_layer! {
    /// Keras `PReLU` (He et al. 2015): `x` for `x >= 0`, `alpha * x` below, with `alpha` learned.
    /// `alpha` has the per-sample input shape, except that the axes in `shared_axes` (1-based
    /// like Keras, so `[1, 2]` for the spatial axes of an image) have size 1: one slope per
    /// channel for a conv feature map. Weight: `alpha`.
    pub struct PReLU("PReLU") {
        new(),
        /// The initial slopes.
        alpha_initializer: Initializer = Initializer::Zeros,
        /// A penalty on `alpha` added to the loss.
        alpha_regularizer: Option<Regularizer> = None,
        /// A projection of `alpha` after every optimizer step.
        alpha_constraint: Option<Constraint> = None,
        /// Axes (1-based, the batch is 0) along which one slope is shared.
        shared_axes: Option<Vec<usize>> = None,
    }
}

impl LayerConfig for PReLU {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let mut shape = input.to_vec();
        for &a in self.shared_axes.iter().flatten() {
            if a == 0 || a > input.len() {
                return Err(Error::invalid(format!(
                    "PReLU: shared_axes entry {a} is not an axis of the per-sample shape {input:?} (axes count from 1)"
                )));
            }
            shape[a - 1] = 1;
        }
        let mut alpha = Param::trainable("alpha", self.alpha_initializer.init(&shape, rng));
        (alpha.regularizer, alpha.constraint) = (self.alpha_regularizer, self.alpha_constraint);
        Ok(Box::new(PReLULayer { cfg: self.clone(), name, out: input.to_vec(), alpha }))
    }
}

/// A built [`PReLU`].
#[derive(Clone)]
pub struct PReLULayer {
    cfg: PReLU,
    name: String,
    out: Vec<usize>,
    alpha: Param,
}

impl Layer for PReLULayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        PReLU::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        // relu(x) - alpha * relu(-x); alpha broadcasts over the batch and the shared axes.
        x.relu().sub(&x.neg().relu().mul(&self.alpha.value))
    }
    fn params(&self) -> Vec<&Param> {
        vec![&self.alpha]
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.alpha]
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), PReLU::CLASS, &self.name)
    }
}
