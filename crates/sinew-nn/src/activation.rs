//! Keras activations by name: `linear`, `relu`, `softmax`, ...

use crate::error::{Error, ErrorKind, Result};
use sinew_tensor::{Activation as Elementwise, Tensor};

/// A Keras activation. Parse one from its Keras name with [`Activation::from_name`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    Linear,
    Relu,
    /// Keras 3 default `negative_slope` is 0.2.
    LeakyRelu(f64),
    Elu(f64),
    Selu,
    Gelu,
    Sigmoid,
    HardSigmoid,
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    Softplus,
    Softsign,
    Swish,
    Mish,
    Exponential,
}

const NAMES: &[&str] = &[
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
    "swish",
    "silu",
    "mish",
    "exponential",
];

impl Activation {
    /// The activation with Keras name `name` (default arguments), or an error suggesting the
    /// closest valid name.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
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
            "swish" | "silu" => Activation::Swish,
            "mish" => Activation::Mish,
            "exponential" => Activation::Exponential,
            _ => {
                return Err(Error::new(
                    ErrorKind::UnknownName,
                    format!("unknown activation {name:?}{}", crate::suggest(name, NAMES)),
                ))
            }
        })
    }

    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Swish => "swish",
            Activation::Mish => "mish",
            Activation::Exponential => "exponential",
        }
    }

    /// Keras-style config: the name, with the argument for the parametrised ones.
    pub fn config(&self) -> serde_json::Value {
        use serde_json::json;
        match *self {
            Activation::LeakyRelu(a) => json!({"class_name": "leaky_relu", "negative_slope": a}),
            Activation::Elu(a) => json!({"class_name": "elu", "alpha": a}),
            _ => json!(self.name()),
        }
    }

    /// Parses [`Activation::config`] output (or a bare Keras name).
    pub fn from_config(v: &serde_json::Value) -> Result<Self> {
        if let Some(name) = v.as_str() {
            return Self::from_name(name);
        }
        let arg = |k: &str| {
            v[k].as_f64()
                .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("activation config: {k} missing in {v}")))
        };
        match v["class_name"].as_str() {
            Some("leaky_relu") => Ok(Activation::LeakyRelu(arg("negative_slope")?)),
            Some("elu") => Ok(Activation::Elu(arg("alpha")?)),
            Some(n) => Self::from_name(n),
            None => Err(Error::new(ErrorKind::Mismatch, format!("activation config without class_name: {v}"))),
        }
    }

    /// The engine's elementwise form, or `None` for softmax.
    pub fn elementwise(&self) -> Option<Elementwise> {
        Some(match *self {
            Activation::Linear => Elementwise::Linear,
            Activation::Relu => Elementwise::Relu,
            Activation::LeakyRelu(a) => Elementwise::LeakyRelu(a),
            Activation::Elu(a) => Elementwise::Elu(a),
            Activation::Selu => Elementwise::Selu,
            Activation::Gelu => Elementwise::Gelu,
            Activation::Sigmoid => Elementwise::Sigmoid,
            Activation::HardSigmoid => Elementwise::HardSigmoid,
            Activation::Tanh => Elementwise::Tanh,
            Activation::Softmax => return None,
            Activation::Softplus => Elementwise::Softplus,
            Activation::Softsign => Elementwise::Softsign,
            Activation::Swish => Elementwise::Silu,
            Activation::Mish => Elementwise::Mish,
            Activation::Exponential => Elementwise::Exponential,
        })
    }

    /// Applies the activation.
    pub fn apply(&self, x: &Tensor) -> Tensor {
        match self.elementwise() {
            Some(e) => x.activation(e),
            None => x.softmax(-1),
        }
    }
}
