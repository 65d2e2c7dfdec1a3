//! Core layers: Dense, Activation, Dropout, Flatten, Reshape.

use super::declare::{declare_layer, named_config, ArgValue, Declared};
use super::weight_rules::WeightRules;
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// Keras `Dense`: `activation(x · kernel + bias)` on the last axis.
    /// Input shape: `[..., input_dim]`. Output shape: `[..., units]`. Weights: `kernel`
    /// `[input_dim, units]`, `bias` `[units]`.
    pub struct Dense("Dense") {
        new(units: usize),
        /// Applied to the output (fused with the bias).
        activation: Activation = Activation::Linear,
        /// Add a learned bias.
        use_bias: bool = true,
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        bias_initializer: Initializer = Initializer::Zeros,
        /// A penalty on the kernel added to the loss.
        kernel_regularizer: Option<Regularizer> = None,
        /// A penalty on the bias added to the loss.
        bias_regularizer: Option<Regularizer> = None,
        /// A projection of the kernel after every optimizer step.
        kernel_constraint: Option<Constraint> = None,
        /// A projection of the bias after every optimizer step.
        bias_constraint: Option<Constraint> = None,
        /// A penalty on the layer's output, divided by the batch size.
        activity_regularizer: Option<Regularizer> = None,
    }
}

impl Dense {
    /// The kernel and bias rules, as `WeightRules` attaches them to the built weights.
    fn rules(&self) -> WeightRules {
        WeightRules {
            kernel_regularizer: self.kernel_regularizer,
            bias_regularizer: self.bias_regularizer,
            kernel_constraint: self.kernel_constraint,
            bias_constraint: self.bias_constraint,
        }
    }
}

/// A Dense layer as an argument of another (the `layer` of `WeightNormalization`): its config
/// with `class_name` (a spec may write `class`).
impl ArgValue for Dense {
    fn to_json(&self) -> Value {
        named_config(self.args(), Self::CLASS, self.name.as_deref().unwrap_or_default())
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let class = v.get("class_name").or_else(|| v.get("class")).and_then(Value::as_str).unwrap_or(Self::CLASS);
        if class != Self::CLASS {
            return Err(format!("must be a Dense layer, got {class:?}"));
        }
        let name = v.get("name").and_then(Value::as_str).map(str::to_string);
        Ok(Self::from_args(v).map_err(|e| e.message)?.with_name(name))
    }
}

impl LayerConfig for Dense {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        Ok(Box::new(DenseLayer::build_concrete(self, name, input, rng)?))
    }
}

/// A built [`Dense`].
#[derive(Clone)]
pub struct DenseLayer {
    cfg: Dense,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
    /// The activity penalty of the last forward pass, taken by `regularization_loss`.
    activity: Option<Tensor>,
}

impl Layer for DenseLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "Dense"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let kernel = self.params[0].value.clone();
        self.forward_with_kernel(x, &kernel)
    }
    fn forward_logits(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Option<(Tensor, Activation)> {
        let kernel = self.params[0].value.clone();
        self.logits_with_kernel(x, &kernel)
    }
    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Option<Tensor> {
        mask.cloned()
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        let weights = self.params.iter().filter_map(|p| p.regularizer.map(|r| r.penalty(&p.value)));
        weights.chain(self.activity.take()).reduce(|a, b| a.add(&b))
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        self.config_json()
    }
}

impl DenseLayer {
    /// Builds a Dense layer as its concrete type (wrappers need its methods).
    pub(crate) fn build_concrete(cfg: &Dense, name: String, input: &[usize], rng: &mut Rng) -> Result<DenseLayer> {
        if cfg.units == 0 {
            return Err(Error::invalid(format!("Dense: units must be a positive integer, got {}", cfg.units)));
        }
        let Some(&fan_in) = input.last() else {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: Dense needs at least 1 axis, got shape {input:?}"
            )));
        };
        if fan_in == 0 {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: last axis is 0 in shape {input:?}"
            )));
        }
        let mut kernel = Param::trainable("kernel", cfg.kernel_initializer.init(&[fan_in, cfg.units], rng));
        cfg.rules().on_kernel(&mut kernel);
        let mut params = vec![kernel];
        if cfg.use_bias {
            let mut bias = Param::trainable("bias", cfg.bias_initializer.init(&[cfg.units], rng));
            cfg.rules().on_bias(&mut bias);
            params.push(bias);
        }
        let mut out = input.to_vec();
        *out.last_mut().unwrap() = cfg.units;
        Ok(DenseLayer { cfg: cfg.clone(), name, params, out, activity: None })
    }
    /// The forward pass with `kernel` in place of the stored one (weight-normalised wrappers pass a
    /// kernel computed from their own parameters).
    pub(crate) fn forward_with_kernel(&mut self, x: &Tensor, kernel: &Tensor) -> Tensor {
        let z = x.matmul(kernel);
        // Bias and an elementwise activation in one fused pass.
        let y = match self.params.get(1) {
            Some(b) => z.bias_act(&b.value, self.cfg.activation),
            None => z.activation(self.cfg.activation),
        };
        self.activity =
            self.cfg.activity_regularizer.map(|r| r.penalty(&y).mul_scalar(1.0 / x.dims()[0].max(1) as f64));
        y
    }
    pub(crate) fn logits_with_kernel(&mut self, x: &Tensor, kernel: &Tensor) -> Option<(Tensor, Activation)> {
        match self.cfg.activation {
            // With an activity regularizer the penalty needs the activated output: take the plain path.
            Activation::Softmax | Activation::Sigmoid if self.cfg.activity_regularizer.is_none() => {
                let z = x.matmul(kernel);
                let z = match self.params.get(1) {
                    Some(b) => z.bias_act(&b.value, Activation::Linear),
                    None => z,
                };
                Some((z, self.cfg.activation))
            }
            _ => None,
        }
    }
    pub(crate) fn bias(&self) -> Option<&Param> {
        self.params.get(1)
    }
    pub(crate) fn kernel(&self) -> &Param {
        &self.params[0]
    }
    pub(crate) fn units(&self) -> usize {
        self.cfg.units
    }
    fn config_json(&self) -> Value {
        named_config(self.cfg.args(), Dense::CLASS, &self.name)
    }
}

declare_layer! {
    /// Keras `Activation`: applies an activation function.
    pub struct ActivationLayer("Activation") {
        new(activation: Activation),
    }
}

impl ActivationLayer {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        self.activation.apply(x)
    }
}
stateless_layer!(ActivationLayer, BuiltActivation);

declare_layer! {
    /// Keras `Dropout`: inverted dropout in training (kept units scaled by `1 / (1 - rate)`), the
    /// identity in inference. Args: `rate` in `[0, 1)`.
    pub struct Dropout("Dropout") {
        new(rate: f64),
    }
}

impl Dropout {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(format!(
                "Dropout: rate must be a float in the range [0, 1), got {}",
                self.rate
            )));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        if ctx.training && self.rate > 0.0 {
            x.dropout(self.rate, ctx.rng)
        } else {
            x.clone()
        }
    }
}
stateless_layer!(Dropout, BuiltDropout);

declare_layer! {
    /// Keras `Flatten`: `[batch, d1, d2, ...] -> [batch, d1 * d2 * ...]`.
    pub struct Flatten("Flatten") {
        new(),
    }
}

impl Flatten {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.flatten_from(1)
    }
}
stateless_layer!(Flatten, BuiltFlatten);

declare_layer! {
    /// Keras `Reshape`: a new per-sample shape of the same size; one axis may be `-1`.
    pub struct Reshape("Reshape") {
        new(target_shape: Vec<isize>),
    }
}

impl Reshape {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        let size: usize = input.iter().product();
        let known: usize = self.target_shape.iter().filter(|&&d| d > 0).map(|&d| d as usize).product();
        let unknown = self.target_shape.iter().filter(|&&d| d == -1).count();
        let bad = self.target_shape.iter().any(|&d| d == 0 || d < -1) || unknown > 1;
        if bad || (unknown == 0 && known != size) || (unknown == 1 && (known == 0 || size % known != 0)) {
            return Err(Error::shape(format!(
                "Reshape {name}: cannot reshape input of shape {input:?} ({size} values) to target_shape {:?}",
                self.target_shape
            )));
        }
        Ok(self.target_shape.iter().map(|&d| if d == -1 { size / known } else { d as usize }).collect())
    }
    fn apply(&self, x: &Tensor, out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let mut dims = vec![x.dims()[0]];
        dims.extend_from_slice(out);
        x.reshape(dims)
    }
}
stateless_layer!(Reshape, BuiltReshape);

declare_layer! {
    /// Keras `Permute`: reorders the per-sample axes; `dims` are 1-based as in Keras (`(2, 1)` swaps
    /// the two axes of a `[batch, a, b]` input).
    pub struct Permute("Permute") {
        new(dims: Vec<usize>),
    }
}

impl Permute {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        let mut sorted = self.dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=input.len()).collect::<Vec<_>>() {
            return Err(Error::shape(format!(
                "Permute {name}: dims {:?} must be a permutation of 1..={} for input shape {input:?}",
                self.dims,
                input.len()
            )));
        }
        Ok(self.dims.iter().map(|&d| input[d - 1]).collect())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let perm: Vec<usize> = std::iter::once(0).chain(self.dims.iter().copied()).collect();
        x.permute(&perm)
    }
}
stateless_layer!(Permute, BuiltPermute);

declare_layer! {
    /// Keras `RepeatVector`: `[batch, features] -> [batch, n, features]`.
    pub struct RepeatVector("RepeatVector") {
        new(n: usize),
    }
}

impl RepeatVector {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() != 1 {
            return Err(Error::shape(format!("Input 0 of layer {name} is incompatible: RepeatVector expects [batch, features], got per-sample shape {input:?}")));
        }
        if self.n == 0 {
            return Err(Error::invalid(format!("RepeatVector: n must be a positive integer, got {}", self.n)));
        }
        Ok(vec![self.n, input[0]])
    }
    fn apply(&self, x: &Tensor, out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.unsqueeze(1).broadcast_to([x.dims()[0], out[0], out[1]])
    }
}
stateless_layer!(RepeatVector, BuiltRepeatVector);
