//! Layer families, one file each, and the registry that rebuilds a layer from its config.

pub mod core;

use crate::activation::Activation;
use crate::error::{Error, ErrorKind, Result};
use crate::initializers::Initializer;
use crate::layer::LayerConfig;
use serde_json::Value;

fn field<'a>(v: &'a Value, class: &str, key: &str) -> Result<&'a Value> {
    v.get(key).ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("{class} config: missing field {key:?}")))
}

fn usize_field(v: &Value, class: &str, key: &str) -> Result<usize> {
    field(v, class, key)?.as_u64().map(|u| u as usize).ok_or_else(|| {
        Error::new(ErrorKind::Mismatch, format!("{class} config: {key} must be a non-negative integer, got {}", v[key]))
    })
}

fn f64_field(v: &Value, class: &str, key: &str) -> Result<f64> {
    field(v, class, key)?.as_f64().ok_or_else(|| {
        Error::new(ErrorKind::Mismatch, format!("{class} config: {key} must be a number, got {}", v[key]))
    })
}

/// Rebuilds a configured layer from the JSON its built form's `config()` wrote, so a saved model
/// loads without its source code. The `name` is kept.
pub fn layer_from_config(v: &Value) -> Result<Box<dyn LayerConfig>> {
    let class = v["class_name"]
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("layer config without class_name: {v}")))?;
    let name = v["name"].as_str().map(str::to_string);
    let named = |n: &Option<String>| n.clone();
    let cfg: Box<dyn LayerConfig> = match class {
        "Dense" => {
            let mut d = core::Dense::new(usize_field(v, class, "units")?)
                .activation(Activation::from_config(field(v, class, "activation")?)?)
                .use_bias(field(v, class, "use_bias")?.as_bool().unwrap_or(true))
                .kernel_initializer(Initializer::from_config(field(v, class, "kernel_initializer")?)?)
                .bias_initializer(Initializer::from_config(field(v, class, "bias_initializer")?)?);
            if let Some(n) = named(&name) {
                d = d.name(n);
            }
            Box::new(d)
        }
        "Activation" => Box::new(
            core::ActivationLayer::new(Activation::from_config(field(v, class, "activation")?)?).with_name(name),
        ),
        "Dropout" => Box::new(core::Dropout::new(f64_field(v, class, "rate")?).with_name(name)),
        "Flatten" => Box::new(core::Flatten::new().with_name(name)),
        "Reshape" => {
            let t: Option<Vec<isize>> = field(v, class, "target_shape")?
                .as_array()
                .and_then(|a| a.iter().map(|d| d.as_i64().map(|d| d as isize)).collect());
            let t = t.ok_or_else(|| {
                Error::new(
                    ErrorKind::Mismatch,
                    format!("Reshape config: target_shape must be a list of integers, got {}", v["target_shape"]),
                )
            })?;
            Box::new(core::Reshape::new(&t).with_name(name))
        }
        other => {
            const KNOWN: &[&str] = &["Dense", "Activation", "Dropout", "Flatten", "Reshape"];
            return Err(Error::new(
                ErrorKind::UnknownName,
                format!("unknown layer class {other:?}{}", crate::suggest(other, KNOWN)),
            ));
        }
    };
    Ok(cfg)
}
