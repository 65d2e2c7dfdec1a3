//! Convolution layers in Keras' `channels_last` layout: Conv1D, Conv2D, DepthwiseConv2D,
//! SeparableConv2D and Conv2DTranspose. One configuration type, [`Conv`], carries the arguments
//! they share; each Keras class is a constructor on it, so the layers cannot drift apart in how
//! they pad, initialise or serialise.
//!
//! Why one file past 600 lines: the five classes share one configuration type, and splitting it by
//! class would split what keeps them consistent; the tail of the file is its unit tests.

use super::weight_rules::{weight_rule_setters, WeightRules};
use crate::activation::{activation_config, activation_from_config, Activation};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use serde_json::{json, Value};
use sinew_tensor::{Conv1dOpts, Conv2dOpts, ConvTranspose2dOpts, Pool2dOpts, Rng, Tensor};

/// Keras `padding`: `valid` (none), `same` (output = ceil(input / stride); the odd pixel goes at
/// the bottom/right, as in TensorFlow) or `causal` (Conv1D only: all padding on the left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    Causal,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" => Ok(Padding::Causal),
            other => Err(Error::invalid(format!(
                "padding must be one of \"valid\", \"same\", \"causal\", got {other:?}{}",
                crate::suggest(other, &["valid", "same", "causal"])
            ))),
        }
    }
}

/// Output length and (before, after) padding of a sliding window along one axis.
pub(crate) fn window(
    len: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<(usize, usize, usize)> {
    let span = dilation * (k - 1) + 1;
    match padding {
        Padding::Valid => (len >= span).then(|| ((len - span) / stride + 1, 0, 0)),
        Padding::Same => {
            let out = len.div_ceil(stride);
            let total = ((out - 1) * stride + span).saturating_sub(len);
            Some((out, total / 2, total - total / 2))
        }
        Padding::Causal => Some(((len + span - 1 - span) / stride + 1, span - 1, 0)),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Conv,
    Depthwise,
    Separable,
    Transpose,
}

/// A convolution layer's configuration. Build one with the Keras-named constructors
/// ([`Conv::conv2d`], [`Conv::conv1d`], ...) and the setters, which take Keras' defaults.
///
/// Args: `filters`, `kernel_size`, `strides` (1), `padding` (valid), `dilation_rate` (1),
/// `groups` (1, Conv1D/Conv2D), `depth_multiplier` (1, depthwise and separable), `output_padding`
/// (none, Conv2DTranspose), `activation` (linear), `use_bias` (true), `kernel_initializer`
/// (glorot_uniform), `bias_initializer` (zeros), regularizers and constraints.
/// Input shape: `[steps, channels]` (1-D) or `[rows, cols, channels]` (2-D).
/// Output shape: the same rank, with the last axis `filters` (or `channels * depth_multiplier`).
#[derive(Clone, Debug)]
pub struct Conv {
    kind: Kind,
    rank: usize,
    filters: usize,
    kernel_size: Vec<usize>,
    strides: Vec<usize>,
    padding: Padding,
    dilation_rate: Vec<usize>,
    groups: usize,
    depth_multiplier: usize,
    output_padding: Option<Vec<usize>>,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    rules: WeightRules,
    name: Option<String>,
}

/// Keras `Conv2D`: `Conv2D::new(32, &[3, 3]).activation(Activation::Relu)`.
pub struct Conv2D;
/// Keras `Conv1D` over `[steps, channels]`.
pub struct Conv1D;
/// Keras `DepthwiseConv2D`: one filter per input channel (times `depth_multiplier`).
pub struct DepthwiseConv2D;
/// Keras `SeparableConv2D`: a depthwise convolution, then a 1x1 convolution to `filters`.
pub struct SeparableConv2D;
/// Keras `Conv2DTranspose`: the gradient of a convolution, used to upsample.
pub struct Conv2DTranspose;

impl Conv2D {
    /// `kernel_size` is `[k]` (square) or `[kh, kw]`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: &[usize]) -> Conv {
        Conv::conv2d(filters, kernel_size)
    }
}
impl Conv1D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: usize) -> Conv {
        Conv::conv1d(filters, kernel_size)
    }
}
impl DepthwiseConv2D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(kernel_size: &[usize]) -> Conv {
        Conv::depthwise_conv2d(kernel_size)
    }
}
impl SeparableConv2D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: &[usize]) -> Conv {
        Conv::separable_conv2d(filters, kernel_size)
    }
}
impl Conv2DTranspose {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: &[usize]) -> Conv {
        Conv::conv2d_transpose(filters, kernel_size)
    }
}

impl Conv {
    fn new(kind: Kind, rank: usize, filters: usize, kernel_size: &[usize]) -> Self {
        let k = if kernel_size.len() == 1 { vec![kernel_size[0]; rank] } else { kernel_size.to_vec() };
        Conv {
            kind,
            rank,
            filters,
            kernel_size: k,
            strides: vec![1; rank],
            padding: Padding::Valid,
            dilation_rate: vec![1; rank],
            groups: 1,
            depth_multiplier: 1,
            output_padding: None,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            rules: WeightRules::default(),
            name: None,
        }
    }
    /// Keras `Conv2D(filters, kernel_size)`; `kernel_size` is `[k]` (square) or `[kh, kw]`.
    pub fn conv2d(filters: usize, kernel_size: &[usize]) -> Self {
        Self::new(Kind::Conv, 2, filters, kernel_size)
    }
    /// Keras `Conv1D(filters, kernel_size)` over `[steps, channels]`.
    pub fn conv1d(filters: usize, kernel_size: usize) -> Self {
        Self::new(Kind::Conv, 1, filters, &[kernel_size])
    }
    /// Keras `DepthwiseConv2D(kernel_size)`: one filter per input channel (times
    /// `depth_multiplier`), no mixing across channels.
    pub fn depthwise_conv2d(kernel_size: &[usize]) -> Self {
        Self::new(Kind::Depthwise, 2, 0, kernel_size)
    }
    /// Keras `SeparableConv2D(filters, kernel_size)`: a depthwise convolution, then a 1x1
    /// convolution to `filters` channels.
    pub fn separable_conv2d(filters: usize, kernel_size: &[usize]) -> Self {
        Self::new(Kind::Separable, 2, filters, kernel_size)
    }
    /// Keras `Conv2DTranspose(filters, kernel_size)`: the gradient of a convolution, used to
    /// upsample (DCGAN generators, conv autoencoders).
    pub fn conv2d_transpose(filters: usize, kernel_size: &[usize]) -> Self {
        Self::new(Kind::Transpose, 2, filters, kernel_size)
    }
    /// `[s]` for every axis or one per axis.
    pub fn strides(mut self, s: &[usize]) -> Self {
        self.strides = if s.len() == 1 { vec![s[0]; self.rank] } else { s.to_vec() };
        self
    }
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }
    pub fn dilation_rate(mut self, d: &[usize]) -> Self {
        self.dilation_rate = if d.len() == 1 { vec![d[0]; self.rank] } else { d.to_vec() };
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
        self
    }
    pub fn output_padding(mut self, p: &[usize]) -> Self {
        self.output_padding = Some(if p.len() == 1 { vec![p[0]; self.rank] } else { p.to_vec() });
        self
    }
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.kernel_initializer = i;
        self
    }
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.bias_initializer = i;
        self
    }
    weight_rule_setters!();
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.name = Some(n.into());
        self
    }
    pub(crate) fn with_name(mut self, n: Option<String>) -> Self {
        self.name = n;
        self
    }

    fn class(&self) -> &'static str {
        match (self.kind, self.rank) {
            (Kind::Conv, 1) => "Conv1D",
            (Kind::Conv, _) => "Conv2D",
            (Kind::Depthwise, _) => "DepthwiseConv2D",
            (Kind::Separable, _) => "SeparableConv2D",
            (Kind::Transpose, _) => "Conv2DTranspose",
        }
    }

    /// Checks the arguments, giving Keras-style messages that name the argument and its value.
    fn validate(&self) -> Result<()> {
        let class = self.class();
        let bad = |what: &str, v: &dyn std::fmt::Debug| {
            Err(Error::invalid(format!("{class}: {what} must be positive integers, got {v:?}")))
        };
        if self.kind != Kind::Depthwise && self.filters == 0 {
            return Err(Error::invalid(format!("{class}: filters must be a positive integer, got 0")));
        }
        for (what, v) in
            [("kernel_size", &self.kernel_size), ("strides", &self.strides), ("dilation_rate", &self.dilation_rate)]
        {
            if v.len() != self.rank || v.contains(&0) {
                return bad(what, v);
            }
        }
        if self.groups == 0 || self.depth_multiplier == 0 {
            return Err(Error::invalid(format!(
                "{class}: groups and depth_multiplier must be positive, got {} and {}",
                self.groups, self.depth_multiplier
            )));
        }
        if self.padding == Padding::Causal && self.rank != 1 {
            return Err(Error::invalid(format!("{class}: padding \"causal\" is only for Conv1D")));
        }
        if self.strides.iter().any(|&s| s > 1) && self.dilation_rate.iter().any(|&d| d > 1) {
            return Err(Error::invalid(format!(
                "{class}: strides {:?} and dilation_rate {:?} cannot both exceed 1",
                self.strides, self.dilation_rate
            )));
        }
        if let Some(op) = &self.output_padding {
            if op.len() != self.rank || op.iter().zip(&self.strides).any(|(&p, &s)| p >= s) {
                return Err(Error::invalid(format!(
                    "{class}: output_padding {op:?} must be smaller than strides {:?}",
                    self.strides
                )));
            }
        }
        Ok(())
    }
}

impl LayerConfig for Conv {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        self.validate()?;
        let class = self.class();
        if input.len() != self.rank + 1 {
            let want = if self.rank == 1 { "[steps, channels]" } else { "[rows, cols, channels]" };
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {class} expects {} axes {want}, got shape {input:?}",
                self.rank + 1
            )));
        }
        let c = input[self.rank];
        if c == 0 || input.contains(&0) {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: shape {input:?} has an empty axis"
            )));
        }
        if self.kind == Kind::Conv && (c % self.groups != 0 || self.filters % self.groups != 0) {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {class} with groups={} needs channels ({c}) and filters ({}) divisible by it",
                self.groups, self.filters
            )));
        }
        // Spatial geometry, axis by axis.
        let mut out = Vec::with_capacity(self.rank + 1);
        let mut pads = Vec::with_capacity(2 * self.rank);
        let mut output_padding = vec![0; self.rank];
        for a in 0..self.rank {
            let (len, k, s, d) = (input[a], self.kernel_size[a], self.strides[a], self.dilation_rate[a]);
            if self.kind == Kind::Transpose {
                let (o, before, after, op) =
                    transpose_window(len, k, s, d, self.padding, self.output_padding.as_ref().map(|p| p[a]));
                out.push(o);
                pads.extend([before, after]);
                output_padding[a] = op;
            } else {
                let Some((o, before, after)) = window(len, k, s, d, self.padding) else {
                    return Err(Error::shape(format!(
                        "Input 0 of layer {name} is incompatible: {class} kernel {:?} (dilation {:?}) is larger than the input {input:?} with padding \"valid\"",
                        self.kernel_size, self.dilation_rate
                    )));
                };
                out.push(o);
                pads.extend([before, after]);
            }
        }
        let (kh_kw, mut params) = (&self.kernel_size[..], Vec::new());
        let mut kernel_shape: Vec<usize> = kh_kw.to_vec();
        let out_channels = match self.kind {
            Kind::Conv => {
                kernel_shape.extend([c / self.groups, self.filters]);
                self.filters
            }
            Kind::Depthwise => {
                kernel_shape.extend([c, self.depth_multiplier]);
                c * self.depth_multiplier
            }
            Kind::Separable => {
                kernel_shape.extend([c, self.depth_multiplier]);
                self.filters
            }
            Kind::Transpose => {
                kernel_shape.extend([self.filters, c]);
                self.filters
            }
        };
        let kernel_name = if self.kind == Kind::Separable { "depthwise_kernel" } else { "kernel" };
        let mut kernel = Param::trainable(kernel_name, self.kernel_initializer.init(&kernel_shape, rng));
        self.rules.on_kernel(&mut kernel);
        params.push(kernel);
        if self.kind == Kind::Separable {
            let shape = [1, 1, c * self.depth_multiplier, self.filters];
            let mut pw = Param::trainable("pointwise_kernel", self.kernel_initializer.init(&shape, rng));
            self.rules.on_kernel(&mut pw);
            params.push(pw);
        }
        let has_bias = self.use_bias;
        if has_bias {
            let mut bias = Param::trainable("bias", self.bias_initializer.init(&[out_channels], rng));
            self.rules.on_bias(&mut bias);
            params.push(bias);
        }
        out.push(out_channels);
        Ok(Box::new(ConvLayer { cfg: self.clone(), name, params, has_bias, pads, output_padding, channels: c, out }))
    }
}

/// Keras' `deconv_output_length`, then the padding that gives it in our transposed convolution:
/// the padding of the convolution whose input-gradient this is, split as TensorFlow splits it
/// (the odd row at the bottom), with any remainder as output padding.
fn transpose_window(
    len: usize,
    k: usize,
    s: usize,
    d: usize,
    padding: Padding,
    op: Option<usize>,
) -> (usize, usize, usize, usize) {
    let span = d * (k - 1) + 1;
    let out = match (op, padding) {
        (None, Padding::Same) => len * s,
        (None, _) => len * s + span.saturating_sub(s),
        (Some(op), Padding::Same) => ((len - 1) * s + span + op).saturating_sub(2 * (span / 2)),
        (Some(op), _) => (len - 1) * s + span + op,
    };
    let full = (len - 1) * s + span;
    if full >= out {
        let total = full - out;
        (out, total / 2, total - total / 2, 0)
    } else {
        (out, 0, 0, out - full)
    }
}

/// A built convolution layer.
#[derive(Clone)]
pub struct ConvLayer {
    cfg: Conv,
    name: String,
    params: Vec<Param>,
    has_bias: bool,
    /// (before, after) per spatial axis.
    pads: Vec<usize>,
    output_padding: Vec<usize>,
    channels: usize,
    out: Vec<usize>,
}

impl ConvLayer {
    fn conv2d_opts(&self, groups: usize) -> Conv2dOpts {
        let p = &self.pads;
        Conv2dOpts {
            stride: [self.cfg.strides[0], self.cfg.strides[1]],
            padding: [p[0], p[1], p[2], p[3]],
            dilation: [self.cfg.dilation_rate[0], self.cfg.dilation_rate[1]],
            groups,
        }
    }
    /// A `Conv2D` with an elementwise activation, and the max pooling after it if given, as
    /// one [`Tensor::conv2d_bias_act`] (which decides between its fused paths and the op chain).
    /// `None` for the other kinds and ranks, grouped convs and softmax.
    pub(crate) fn fused(&self, x: &Tensor, max_pool: Option<Pool2dOpts>) -> Option<Tensor> {
        let cfg = &self.cfg;
        if cfg.kind != Kind::Conv || cfg.rank != 2 || cfg.groups != 1 {
            return None;
        }
        let act = Some(cfg.activation).filter(Activation::is_elementwise)?;
        let bias = self.has_bias.then(|| &self.params[self.params.len() - 1].value);
        Some(x.conv2d_bias_act(&self.params[0].value, bias, act, self.conv2d_opts(1), max_pool))
    }
    /// The convolution without bias and activation.
    fn linear(&self, x: &Tensor) -> Tensor {
        let k = &self.params[0].value;
        let cfg = &self.cfg;
        match (cfg.kind, cfg.rank) {
            (Kind::Conv, 1) => x.conv1d(
                k,
                Conv1dOpts {
                    stride: cfg.strides[0],
                    padding: [self.pads[0], self.pads[1]],
                    dilation: cfg.dilation_rate[0],
                    groups: cfg.groups,
                },
            ),
            (Kind::Conv, _) => x.conv2d(k, self.conv2d_opts(cfg.groups)),
            (Kind::Depthwise, _) | (Kind::Separable, _) => {
                // Keras' depthwise kernel [kh, kw, c, m] is a grouped kernel [kh, kw, 1, c * m]
                // (output channel c * m + j), with one group per input channel.
                let d = k.dims();
                let grouped = k.reshape([d[0], d[1], 1, d[2] * d[3]]);
                let y = x.conv2d(&grouped, self.conv2d_opts(self.channels));
                if cfg.kind == Kind::Depthwise {
                    return y;
                }
                let pw = &self.params[1].value;
                let pd = pw.dims();
                let yd = y.dims().to_vec();
                y.reshape([yd[0] * yd[1] * yd[2], yd[3]])
                    .matmul(&pw.reshape([pd[2], pd[3]]))
                    .reshape([yd[0], yd[1], yd[2], pd[3]])
            }
            (Kind::Transpose, _) => {
                let p = &self.pads;
                x.conv_transpose2d(
                    k,
                    ConvTranspose2dOpts {
                        stride: [cfg.strides[0], cfg.strides[1]],
                        padding: [p[0], p[1], p[2], p[3]],
                        output_padding: [self.output_padding[0], self.output_padding[1]],
                        dilation: [cfg.dilation_rate[0], cfg.dilation_rate[1]],
                        groups: 1,
                    },
                )
            }
        }
    }
}

impl Layer for ConvLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        self.cfg.class()
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        if let Some(y) = self.fused(x, None) {
            return y;
        }
        let z = self.linear(x);
        let bias = self.has_bias.then(|| &self.params[self.params.len() - 1].value);
        match bias {
            Some(b) => z.bias_act(b, self.cfg.activation),
            None => z.activation(self.cfg.activation),
        }
    }
    fn forward_max_pooled(&mut self, x: &Tensor, pool: Pool2dOpts, _ctx: &mut Ctx) -> Option<Tensor> {
        self.fused(x, Some(pool))
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        let c = &self.cfg;
        let mut v = json!({
            "class_name": c.class(), "name": self.name, "kernel_size": c.kernel_size, "strides": c.strides,
            "padding": c.padding.name(), "dilation_rate": c.dilation_rate, "activation": activation_config(&c.activation),
            "use_bias": c.use_bias, "kernel_initializer": c.kernel_initializer.config(),
            "bias_initializer": c.bias_initializer.config(),
        });
        c.rules.write_config(&mut v);
        match c.kind {
            Kind::Conv => {
                v["filters"] = json!(c.filters);
                v["groups"] = json!(c.groups);
            }
            Kind::Depthwise => v["depth_multiplier"] = json!(c.depth_multiplier),
            Kind::Separable => {
                v["filters"] = json!(c.filters);
                v["depth_multiplier"] = json!(c.depth_multiplier);
            }
            Kind::Transpose => {
                v["filters"] = json!(c.filters);
                v["output_padding"] = json!(c.output_padding);
            }
        }
        v
    }
}

/// Rebuilds a convolution configuration from [`Layer::config`] output.
pub(crate) fn conv_from_config(class: &str, v: &Value) -> Result<Conv> {
    let ints = |key: &str| super::usize_list(v, class, key);
    let int = |key: &str| super::usize_field(v, class, key);
    let k = ints("kernel_size")?;
    let mut c = match class {
        "Conv1D" => Conv::conv1d(int("filters")?, *k.first().unwrap_or(&0)),
        "Conv2D" => Conv::conv2d(int("filters")?, &k),
        "DepthwiseConv2D" => Conv::depthwise_conv2d(&k).depth_multiplier(int("depth_multiplier")?),
        "SeparableConv2D" => Conv::separable_conv2d(int("filters")?, &k).depth_multiplier(int("depth_multiplier")?),
        "Conv2DTranspose" => Conv::conv2d_transpose(int("filters")?, &k),
        other => return Err(Error::invalid(format!("not a convolution class: {other:?}"))),
    };
    c = c
        .strides(&ints("strides")?)
        .dilation_rate(&ints("dilation_rate")?)
        .padding(Padding::from_name(v["padding"].as_str().unwrap_or("?"))?)
        .activation(
            activation_from_config(&v["activation"])
                .map_err(|e| e.about("activation", Some(v["activation"].to_string())))?,
        )
        .use_bias(v["use_bias"].as_bool().unwrap_or(true))
        .kernel_initializer(
            Initializer::from_config(&v["kernel_initializer"])
                .map_err(|e| e.about("kernel_initializer", Some(v["kernel_initializer"].to_string())))?,
        )
        .bias_initializer(
            Initializer::from_config(&v["bias_initializer"])
                .map_err(|e| e.about("bias_initializer", Some(v["bias_initializer"].to_string())))?,
        )
        .with_name(v["name"].as_str().map(str::to_string));
    if class == "Conv1D" || class == "Conv2D" {
        c = c.groups(int("groups")?);
    }
    if v.get("output_padding").is_some_and(|x| !x.is_null()) {
        c = c.output_padding(&ints("output_padding")?);
    }
    c.rules = WeightRules::from_config(v)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_matches_keras_output_lengths() {
        // (len, k, stride, dilation, padding) -> (out, before, after), from Keras' conv formulas.
        assert_eq!(window(28, 4, 1, 1, Padding::Valid), Some((25, 0, 0)));
        assert_eq!(window(28, 3, 2, 1, Padding::Valid), Some((13, 0, 0)));
        assert_eq!(window(28, 4, 1, 1, Padding::Same), Some((28, 1, 2)));
        assert_eq!(window(7, 3, 2, 1, Padding::Same), Some((4, 1, 1)));
        assert_eq!(window(8, 3, 2, 1, Padding::Same), Some((4, 0, 1)));
        assert_eq!(window(10, 3, 1, 2, Padding::Same), Some((10, 2, 2)));
        assert_eq!(window(10, 3, 1, 2, Padding::Causal), Some((10, 4, 0)));
        assert_eq!(window(2, 3, 1, 1, Padding::Valid), None);
    }

    #[test]
    fn transpose_window_matches_keras_deconv_output_length() {
        // Keras deconv_output_length: valid -> in*s + max(k - s, 0); same -> in*s.
        assert_eq!(transpose_window(7, 4, 2, 1, Padding::Same, None), (14, 1, 1, 0));
        assert_eq!(transpose_window(7, 3, 2, 1, Padding::Same, None), (14, 0, 1, 0));
        assert_eq!(transpose_window(7, 5, 2, 1, Padding::Valid, None), (17, 0, 0, 0));
        assert_eq!(transpose_window(7, 1, 2, 1, Padding::Valid, None), (14, 0, 0, 1));
        // With output_padding: (in - 1) * s + k - 2 * (k // 2) + op for same.
        assert_eq!(transpose_window(7, 3, 2, 1, Padding::Same, Some(1)).0, 14);
        assert_eq!(transpose_window(7, 3, 2, 1, Padding::Valid, Some(1)).0, 16);
    }
}
