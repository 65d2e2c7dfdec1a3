//! Convolution layers in Keras' `channels_last` layout: Conv1D, Conv2D, DepthwiseConv2D,
//! SeparableConv2D and Conv2DTranspose. One configuration type, [`Conv`], carries the arguments
//! they share; each Keras class is a constructor on it, so the layers cannot drift apart in how
//! they pad, initialise or serialise.
//!
//! Why one file past 600 lines: the five classes share one configuration type, and splitting it by
//! class would split what keeps them consistent; the tail of the file is its unit tests.

use super::declare::{declare_layer, named_config, per_axis, Declared};
use super::weight_rules::WeightRules;
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
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

/// What a convolution layer does, from its class's declared arguments (each list with one
/// entry per spatial axis).
#[derive(Clone, Debug)]
struct Conv {
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
}

/// Declares one convolution class: the arguments every convolution shares, plus the class's
/// own (`$extra`), and how they become a [`Conv`] (`|c| (filters, groups, depth_multiplier,
/// output_padding)`).
macro_rules! conv_class {
    (
        $(#[$m:meta])*
        $t:ident($class:literal, $kind:expr, $rank:literal),
        new($($req:ident : $rty:ty),*),
        { $($extra:tt)* },
        |$c:ident| $own:expr
    ) => {
        declare_layer! {
            $(#[$m])*
            pub struct $t($class) {
                new($($req: $rty),*),
                /// The step, per spatial axis (one value: every axis).
                strides: Vec<usize> = vec![1; $rank],
                /// `valid`, `same` (TensorFlow's odd pixel at the bottom/right) or `causal`
                /// (Conv1D only).
                padding: Padding = Padding::Valid,
                /// The spacing of the kernel's taps, per spatial axis.
                dilation_rate: Vec<usize> = vec![1; $rank],
                $($extra)*
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
            }
        }

        impl $t {
            fn conv(&self) -> Conv {
                let $c = self;
                let (filters, groups, depth_multiplier, output_padding): (usize, usize, usize, Option<Vec<usize>>) =
                    $own;
                Conv {
                    kind: $kind,
                    rank: $rank,
                    filters,
                    kernel_size: per_axis(&self.kernel_size, $rank),
                    strides: per_axis(&self.strides, $rank),
                    padding: self.padding,
                    dilation_rate: per_axis(&self.dilation_rate, $rank),
                    groups,
                    depth_multiplier,
                    output_padding: output_padding.map(|p| per_axis(&p, $rank)),
                    activation: self.activation,
                    use_bias: self.use_bias,
                    kernel_initializer: self.kernel_initializer.clone(),
                    bias_initializer: self.bias_initializer.clone(),
                    rules: WeightRules {
                        kernel_regularizer: self.kernel_regularizer,
                        bias_regularizer: self.bias_regularizer,
                        kernel_constraint: self.kernel_constraint,
                        bias_constraint: self.bias_constraint,
                    },
                }
            }
        }

        impl LayerConfig for $t {
            fn class_name(&self) -> &'static str {
                Self::CLASS
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
                self.conv().build(self.args(), name, input, rng)
            }
        }
    };
}

conv_class! {
    /// Keras `Conv2D` over `[rows, cols, channels]`: `Conv2D::new(32, 3).activation(Activation::Relu)`.
    /// Output: `[out_rows, out_cols, filters]`. Weights: `kernel` `[kh, kw, channels / groups,
    /// filters]` (HWIO), `bias` `[filters]`.
    Conv2D("Conv2D", Kind::Conv, 2),
    new(filters: usize, kernel_size: Vec<usize>),
    {
        /// Split channels and filters into this many independent groups.
        groups: usize = 1,
    },
    |c| (c.filters, c.groups, 1, None)
}

conv_class! {
    /// Keras `Conv1D` over `[steps, channels]`. Output: `[out_steps, filters]`.
    Conv1D("Conv1D", Kind::Conv, 1),
    new(filters: usize, kernel_size: Vec<usize>),
    {
        /// Split channels and filters into this many independent groups.
        groups: usize = 1,
    },
    |c| (c.filters, c.groups, 1, None)
}

conv_class! {
    /// Keras `DepthwiseConv2D`: one filter per input channel (times `depth_multiplier`), no
    /// mixing across channels. Output: `[out_rows, out_cols, channels * depth_multiplier]`.
    DepthwiseConv2D("DepthwiseConv2D", Kind::Depthwise, 2),
    new(kernel_size: Vec<usize>),
    {
        /// Output channels per input channel.
        depth_multiplier: usize = 1,
    },
    |c| (0, 1, c.depth_multiplier, None)
}

conv_class! {
    /// Keras `SeparableConv2D`: a depthwise convolution, then a 1x1 convolution to `filters`.
    SeparableConv2D("SeparableConv2D", Kind::Separable, 2),
    new(filters: usize, kernel_size: Vec<usize>),
    {
        /// Output channels per input channel of the depthwise step.
        depth_multiplier: usize = 1,
    },
    |c| (c.filters, 1, c.depth_multiplier, None)
}

conv_class! {
    /// Keras `Conv2DTranspose`: the gradient of a convolution, used to upsample (DCGAN
    /// generators, conv autoencoders).
    Conv2DTranspose("Conv2DTranspose", Kind::Transpose, 2),
    new(filters: usize, kernel_size: Vec<usize>),
    {
        /// Extra rows/columns on the output's bottom/right (`None`: inferred, as Keras does).
        output_padding: Option<Vec<usize>> = None,
    },
    |c| (c.filters, 1, 1, c.output_padding.clone())
}

impl Conv {
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

impl Conv {
    fn build(self, args: Value, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
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
        Ok(Box::new(ConvLayer { cfg: self, args, name, params, has_bias, pads, output_padding, channels: c, out }))
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
    /// The declared arguments, for `config()`.
    args: Value,
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
        named_config(self.args.clone(), self.cfg.class(), &self.name)
    }
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
