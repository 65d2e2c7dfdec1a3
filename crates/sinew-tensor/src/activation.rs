//! [`Activation`]: the one type for Keras activations, shared by the engine's fused ops
//! ([`Tensor::bias_act`], [`Tensor::conv2d_bias_act`]), the layers and the losses.
//! Its serialised form (Keras' activation config, JSON) lives in `sinew-nn`, which owns
//! configs; the engine knows the names.

use crate::ops::unary::Unary;
use crate::tensor::Tensor;

/// A Keras activation function.
///
/// Every variant is elementwise except [`Activation::Softmax`], which normalises over the last
/// axis (`keras.activations.softmax(x, axis=-1)`; the `Softmax` layer takes other axes).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// The identity (Keras `linear`, also written `None`).
    Linear,
    Relu,
    /// `x` for `x > 0`, else `negative_slope * x` (Keras 3's default slope is 0.2).
    LeakyRelu(f64),
    /// `x` for `x > 0`, else `alpha * (exp(x) - 1)` (default alpha 1.0).
    Elu(f64),
    /// Self-normalising ELU (Klambauer et al. 2017), for `lecun_normal` weights and `AlphaDropout`.
    Selu,
    /// Exact GELU, with the error function (Keras `gelu(approximate=False)`).
    Gelu,
    /// The tanh approximation of GELU (Keras `gelu(approximate=True)`).
    GeluTanh,
    Sigmoid,
    HardSigmoid,
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    Softplus,
    Softsign,
    /// `x * sigmoid(x)` (Keras `silu`, alias `swish`).
    Silu,
    Mish,
    Exponential,
}

impl Activation {
    /// Every Keras name [`Activation::from_name`] accepts (aliases included).
    pub const NAMES: &'static [&'static str] = &[
        "linear",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "sigmoid",
        "hard_sigmoid",
        "tanh",
        "softmax",
        "softplus",
        "softsign",
        "silu",
        "swish",
        "mish",
        "exponential",
    ];

    /// The activation with Keras name `name`, with its default arguments.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "linear" | "None" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(0.2),
            "elu" => Activation::Elu(1.0),
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu,
            "sigmoid" => Activation::Sigmoid,
            "hard_sigmoid" => Activation::HardSigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "silu" | "swish" => Activation::Silu,
            "mish" => Activation::Mish,
            "exponential" => Activation::Exponential,
            _ => return None,
        })
    }

    /// The Keras name (both GELUs are `gelu`; the config tells them apart).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Selu => "selu",
            Activation::Gelu | Activation::GeluTanh => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::Exponential => "exponential",
        }
    }

    /// Whether each output element depends on its own input element only (all but softmax).
    pub fn is_elementwise(&self) -> bool {
        *self != Activation::Softmax
    }

    /// The engine's unary kernel, or `None` for linear and softmax (no elementwise op).
    pub(crate) fn unary(self) -> Option<Unary> {
        Some(match self {
            Activation::Linear | Activation::Softmax => return None,
            Activation::Relu => Unary::Relu,
            Activation::LeakyRelu(a) => Unary::LeakyRelu(a),
            Activation::Elu(a) => Unary::Elu(a),
            Activation::Selu => Unary::Selu,
            Activation::Gelu => Unary::Gelu,
            Activation::GeluTanh => Unary::GeluTanh,
            Activation::Sigmoid => Unary::Sigmoid,
            Activation::HardSigmoid => Unary::HardSigmoid,
            Activation::Tanh => Unary::Tanh,
            Activation::Softplus => Unary::Softplus,
            Activation::Softsign => Unary::Softsign,
            Activation::Silu => Unary::Silu,
            Activation::Mish => Unary::Mish,
            Activation::Exponential => Unary::Exp,
        })
    }

    /// Applies the activation to `x` (same as [`Tensor::activation`]).
    pub fn apply(&self, x: &Tensor) -> Tensor {
        x.activation(*self)
    }
}
