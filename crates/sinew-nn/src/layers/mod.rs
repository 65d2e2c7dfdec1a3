//! Layer families, one file each, and the registry that rebuilds a layer from its config.

/// Layers without weights whose behaviour is a function of the input: the built type of a
/// declared configuration (`declare_layer!`) that has `out_shape` and `apply`. One built type
/// each, written out, would be pure boilerplate.
macro_rules! stateless_layer {
    ($cfg:ident, $built:ident) => {
        impl LayerConfig for $cfg {
            fn class_name(&self) -> &'static str {
                <$cfg as $crate::layers::declare::Declared>::CLASS
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn build(&self, name: String, input: &[usize], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
                let out = self.out_shape(&name, input)?;
                Ok(Box::new($built { cfg: self.clone(), name, out }))
            }
        }
        /// The built form of the layer of the same name.
        #[derive(Clone)]
        pub struct $built {
            cfg: $cfg,
            name: String,
            out: Vec<usize>,
        }
        impl Layer for $built {
            fn replicate(&self) -> Option<Box<dyn Layer>> {
                Some(Box::new(self.clone()))
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn class_name(&self) -> &'static str {
                <$cfg as $crate::layers::declare::Declared>::CLASS
            }
            fn output_shape(&self) -> &[usize] {
                &self.out
            }
            fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
                self.cfg.apply(x, &self.out, ctx)
            }
            /// A layer that keeps its input's shape (dropout, noise, an activation) passes a
            /// mask on; one that reshapes or pools the steps drops it.
            fn compute_mask(&self, x: &Tensor, mask: Option<&Tensor>) -> Option<Tensor> {
                mask.filter(|_| x.dims()[1..] == self.out[..]).cloned()
            }
            fn config(&self) -> serde_json::Value {
                let mut v = self.cfg.args();
                v["class_name"] = serde_json::json!(self.class_name());
                v["name"] = serde_json::json!(self.name);
                v
            }
        }
    };
}

pub mod activations;
mod args;
pub mod conv;
pub mod conv_lstm;
pub mod core;
pub(crate) mod declare;
pub mod embedding;
pub mod merge;
pub mod minibatch;
pub mod noise;
pub mod normalization;
pub mod pooling;
pub mod recurrent;
pub mod reshaping;
pub mod sampling;
pub(crate) mod weight_rules;
pub mod wrappers;

pub use args::layer_from_args;

use crate::error::{Error, ErrorKind, Result};
use crate::layer::LayerConfig;
use declare::{declared, Registered};
use serde_json::Value;

/// Layers declared with `declare_layer!`: one line each makes a class loadable from a saved
/// model and declarable in a spec, with its signature.
fn declared_layers() -> Vec<Registered> {
    vec![
        declared::<core::Dense>(),
        declared::<core::ActivationLayer>(),
        declared::<wrappers::WeightNormalization>(),
        declared::<core::Dropout>(),
        declared::<core::Flatten>(),
        declared::<core::RepeatVector>(),
        declared::<noise::GaussianNoise>(),
        declared::<noise::GaussianDropout>(),
        declared::<noise::AlphaDropout>(),
        declared::<noise::SpatialDropout1D>(),
        declared::<noise::SpatialDropout2D>(),
        declared::<sampling::Sampling>(),
        declared::<minibatch::MinibatchDiscrimination>(),
        declared::<core::Reshape>(),
        declared::<core::Permute>(),
        declared::<normalization::UnitNormalization>(),
        declared::<conv::Conv1D>(),
        declared::<conv::Conv2D>(),
        declared::<conv::DepthwiseConv2D>(),
        declared::<conv::SeparableConv2D>(),
        declared::<conv::Conv2DTranspose>(),
        declared::<conv_lstm::ConvLSTM2D>(),
        declared::<reshaping::UpSampling2D>(),
        declared::<reshaping::ZeroPadding2D>(),
        declared::<reshaping::Cropping2D>(),
        declared::<merge::Add>(),
        declared::<merge::Subtract>(),
        declared::<merge::Multiply>(),
        declared::<merge::Average>(),
        declared::<merge::Maximum>(),
        declared::<merge::Minimum>(),
        declared::<merge::Concatenate>(),
        declared::<pooling::MaxPooling1D>(),
        declared::<pooling::MaxPooling2D>(),
        declared::<pooling::AveragePooling1D>(),
        declared::<pooling::AveragePooling2D>(),
        declared::<pooling::GlobalAveragePooling1D>(),
        declared::<pooling::GlobalAveragePooling2D>(),
        declared::<pooling::GlobalMaxPooling1D>(),
        declared::<pooling::GlobalMaxPooling2D>(),
        declared::<normalization::BatchNormalization>(),
        declared::<normalization::LayerNormalization>(),
        declared::<normalization::GroupNormalization>(),
        declared::<activations::ReLU>(),
        declared::<activations::LeakyReLU>(),
        declared::<activations::PReLU>(),
        declared::<activations::ELU>(),
        declared::<activations::Softmax>(),
        declared::<embedding::Embedding>(),
        declared::<embedding::Masking>(),
        declared::<recurrent::SimpleRNN>(),
        declared::<recurrent::LSTM>(),
        declared::<recurrent::GRU>(),
        declared::<recurrent::Bidirectional>(),
        declared::<wrappers::TimeDistributed>(),
    ]
}

/// The declared layer of class `class`, if it is one.
fn find_declared(class: &str) -> Option<Registered> {
    declared_layers().into_iter().find(|r| r.class == class)
}

/// Every built-in layer class `layer_from_config` can rebuild (the conformance suite checks each
/// has a case).
pub fn layer_classes() -> Vec<&'static str> {
    declared_layers().iter().map(|r| r.class).collect()
}

/// Rebuilds a configured layer from the JSON its built form's `config()` wrote, so a saved model
/// loads without its source code. The `name` is kept.
pub fn layer_from_config(v: &Value) -> Result<Box<dyn LayerConfig>> {
    let class = v["class_name"]
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("layer config without class_name: {v}")))?;
    if let Some(r) = find_declared(class) {
        return (r.from_config)(v);
    }
    let custom = custom_layers().read().unwrap_or_else(|e| e.into_inner()).get(class).copied();
    match custom {
        Some(from_config) => from_config(v),
        None => {
            let hint = match crate::suggest(class, &layer_classes()) {
                s if s.is_empty() => " (a custom layer must be registered with register_layer before loading)".into(),
                s => s,
            };
            Err(Error::new(ErrorKind::UnknownName, format!("unknown layer class {class:?}{hint}")))
        }
    }
}

/// Rebuilds a custom layer's configuration from the JSON its `config()` wrote.
pub type LayerFromConfig = fn(&Value) -> Result<Box<dyn LayerConfig>>;

fn custom_layers() -> &'static std::sync::RwLock<std::collections::HashMap<String, LayerFromConfig>> {
    static REGISTRY: std::sync::OnceLock<std::sync::RwLock<std::collections::HashMap<String, LayerFromConfig>>> =
        std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers a custom layer class so that [`layer_from_config`] (and so `Model::load`) can
/// rebuild it: Keras `register_keras_serializable` / `custom_objects`. Built-in class names cannot
/// be replaced.
pub fn register_layer(class_name: &str, from_config: LayerFromConfig) -> Result<()> {
    if layer_classes().contains(&class_name) {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!("register_layer: {class_name:?} is a built-in layer class and cannot be replaced"),
        ));
    }
    custom_layers().write().unwrap_or_else(|e| e.into_inner()).insert(class_name.to_string(), from_config);
    Ok(())
}
