//! Keras activation configs: [`Activation`] itself is the engine's type (one type for the
//! engine's fused ops, the layers and the losses); this module reads and writes its JSON form.

use crate::error::{Error, ErrorKind, Result};
use serde_json::{json, Value};
pub use sinew_tensor::Activation;

/// The activation with Keras name `name` (default arguments), or an error suggesting the
/// closest valid name.
pub fn activation_from_name(name: &str) -> Result<Activation> {
    Activation::from_name(name).ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownName,
            format!("unknown activation {name:?}{}", crate::suggest(name, Activation::NAMES)),
        )
    })
}

/// Keras-style config: the name, or for a parametrised activation an object with the name as
/// `class_name` and its argument.
pub fn activation_config(a: &Activation) -> Value {
    match *a {
        Activation::LeakyRelu(s) => json!({"class_name": "leaky_relu", "negative_slope": s}),
        Activation::Elu(al) => json!({"class_name": "elu", "alpha": al}),
        Activation::GeluTanh => json!({"class_name": "gelu", "approximate": true}),
        _ => json!(a.name()),
    }
}

/// Parses [`activation_config`] output (or a bare Keras name).
pub fn activation_from_config(v: &Value) -> Result<Activation> {
    if let Some(name) = v.as_str() {
        return activation_from_name(name);
    }
    let arg = |k: &str| {
        v[k].as_f64().ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("activation config: {k} missing in {v}")))
    };
    match v["class_name"].as_str() {
        Some("leaky_relu") => Ok(Activation::LeakyRelu(arg("negative_slope")?)),
        Some("elu") => Ok(Activation::Elu(arg("alpha")?)),
        Some("gelu") if v["approximate"].as_bool() == Some(true) => Ok(Activation::GeluTanh),
        Some(n) => activation_from_name(n),
        None => Err(Error::new(ErrorKind::Mismatch, format!("activation config without class_name: {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_config_round_trips_every_name_and_argument() {
        let mut all: Vec<Activation> = Activation::NAMES.iter().map(|n| Activation::from_name(n).unwrap()).collect();
        all.extend([Activation::LeakyRelu(0.3), Activation::Elu(0.5), Activation::GeluTanh]);
        for a in all {
            assert_eq!(activation_from_config(&activation_config(&a)).unwrap(), a);
        }
        let e = activation_from_name("rellu").unwrap_err();
        assert!(e.message.contains("did you mean \"relu\""), "{}", e.message);
    }
}
