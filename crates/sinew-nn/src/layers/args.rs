//! [`layer_from_args`]: a layer from its Keras class name and constructor arguments, as a user
//! writes them (`Dense(64, activation="relu")` is `{"units": 64, "activation": "relu"}`), with
//! Keras' defaults for everything left out. Declarative specs use it. Unknown arguments and
//! missing required ones are errors naming the class and the argument, with a suggestion for a
//! typo.

use super::{find_declared, layer_classes, layer_from_config};
use crate::error::{Error, ErrorKind, Result};
use crate::layer::LayerConfig;
use serde_json::{json, Map, Value};

/// Marks an argument without a default.
const REQUIRED: &str = "<required>";

/// The arguments of `class` and their Keras defaults (as JSON; [`REQUIRED`] marks a required
/// one), from its declaration, or `None` for a class that is not declared. `rank` is the number
/// of spatial axes a single integer expands to: the length of a per-axis default.
fn signature(class: &str) -> Option<(Vec<(&'static str, Value)>, usize)> {
    let r = find_declared(class)?;
    let mut args: Vec<(&'static str, Value)> =
        (r.signature)().into_iter().map(|a| (a.name, a.default.unwrap_or_else(|| json!(REQUIRED)))).collect();
    let rank =
        args.iter().find(|(k, _)| PER_AXIS.contains(k)).and_then(|(_, d)| d.as_array().map(Vec::len)).unwrap_or(1);
    args.push(("name", Value::Null));
    Some((args, rank))
}

/// Arguments that Keras accepts as one integer for every spatial axis.
const PER_AXIS: &[&str] = &["kernel_size", "strides", "dilation_rate", "pool_size", "size", "output_padding"];

/// Builds the configuration of a layer from its Keras class name and constructor arguments
/// (missing optional arguments take Keras' defaults). `kernel_size = 3` means `[3, 3]` for a
/// 2-D layer, as in Keras, and a pooling layer's `strides` defaults to its `pool_size`.
pub fn layer_from_args(class: &str, args: &Map<String, Value>) -> Result<Box<dyn LayerConfig>> {
    let cfg = filled(class, args)?;
    layer_from_config(&cfg).map_err(|mut e| {
        if !e.message.starts_with(&format!("{class}:")) {
            e.message = format!("{class}: {}", e.message);
        }
        e
    })
}

/// The complete configuration JSON for `class` and `args`. `WeightNormalization` wraps the Dense
/// layer its `layer` argument declares (`{"class": "Dense", "units": 8}`).
fn filled(class: &str, args: &Map<String, Value>) -> Result<Value> {
    if class == "WeightNormalization" {
        if let Some(bad) = args.keys().find(|k| *k != "layer" && *k != "name") {
            return Err(Error::new(
                ErrorKind::UnknownName,
                format!(
                    "WeightNormalization: unknown argument {bad:?}{} (arguments: layer, name)",
                    crate::suggest(bad, &["layer", "name"])
                ),
            ));
        }
        let inner = args.get("layer").and_then(Value::as_object).ok_or_else(|| {
            Error::new(
                ErrorKind::Mismatch,
                "WeightNormalization: missing required argument \"layer\" (a Dense layer's arguments)",
            )
        })?;
        // `class` in a spec; `class_name` in a saved config.
        let inner_class =
            inner.get("class").or_else(|| inner.get("class_name")).and_then(Value::as_str).unwrap_or("Dense");
        if inner_class != "Dense" {
            return Err(Error::new(
                ErrorKind::Mismatch,
                format!("WeightNormalization wraps a Dense layer, got {inner_class:?}"),
            ));
        }
        let mut inner_args = inner.clone();
        inner_args.remove("class");
        inner_args.remove("class_name");
        let layer = filled("Dense", &inner_args)?;
        return Ok(
            json!({"class_name": "WeightNormalization", "layer": layer, "name": args.get("name").cloned().unwrap_or(Value::Null)}),
        );
    }
    let Some((sig, rank)) = signature(class) else {
        let classes = layer_classes();
        let hint = crate::suggest(class, &classes);
        let hint = if hint.is_empty() && classes.contains(&class) {
            " (it cannot be declared by arguments yet)".to_string()
        } else {
            hint
        };
        return Err(Error::new(ErrorKind::UnknownName, format!("unknown layer class {class:?}{hint}")));
    };
    let names: Vec<&str> = sig.iter().map(|(k, _)| *k).collect();
    if let Some(bad) = args.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(Error::new(
            ErrorKind::UnknownName,
            format!(
                "{class}: unknown argument {bad:?}{} (arguments: {})",
                crate::suggest(bad, &names),
                names.join(", ")
            ),
        )
        .about(bad, args.get(bad).map(Value::to_string)));
    }
    let mut cfg = Map::new();
    cfg.insert("class_name".into(), json!(class));
    for (k, default) in sig {
        let v = args.get(k).cloned().unwrap_or(default);
        if v == json!(REQUIRED) {
            return Err(
                Error::new(ErrorKind::Mismatch, format!("{class}: missing required argument {k:?}")).about(k, None)
            );
        }
        let v = match (&v, PER_AXIS.contains(&k)) {
            (Value::Number(_), true) => json!(vec![v.clone(); rank]),
            _ => v,
        };
        cfg.insert(k.into(), v);
    }
    // Keras writes padding for ZeroPadding2D/Cropping2D as one int, a pair, or two pairs.
    for key in ["padding", "cropping"] {
        if class == "ZeroPadding2D" || class == "Cropping2D" {
            if let Some(v) = cfg.get(key).cloned() {
                let pairs = match &v {
                    Value::Number(_) => json!([[v.clone(), v.clone()], [v.clone(), v]]),
                    Value::Array(a) if a.len() == 2 && a.iter().all(Value::is_number) => {
                        json!([[a[0], a[0]], [a[1], a[1]]])
                    }
                    _ => v,
                };
                cfg.insert(key.into(), pairs);
            }
        }
    }
    Ok(Value::Object(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn err(class: &str, v: Value) -> Error {
        layer_from_args(class, &args(v)).err().expect("an error")
    }

    #[test]
    fn every_declarable_class_builds_from_its_required_arguments() {
        let required = json!({"units": 4, "filters": 2, "kernel_size": 3, "rate": 0.5, "stddev": 0.1,
                              "layer": {"class": "Dense", "units": 2},
                              "activation": "relu", "target_shape": [4], "dims": [1], "n": 2,
                              "input_dim": 10, "output_dim": 3, "num_kernels": 3, "kernel_dim": 2});
        for class in layer_classes() {
            let (sig, _) = signature(class).unwrap_or_else(|| panic!("{class} has no signature"));
            let given: Map<String, Value> = sig
                .iter()
                .filter(|(_, d)| *d == json!(REQUIRED))
                .map(|(k, _)| match (class, *k) {
                    // The wrapped layer of a Bidirectional is recurrent.
                    ("Bidirectional", "layer") => (k.to_string(), json!({"class": "LSTM", "units": 2})),
                    _ => (k.to_string(), required[k].clone()),
                })
                .collect();
            let cfg = layer_from_args(class, &given).unwrap_or_else(|e| panic!("{class}: {}", e.message));
            assert_eq!(cfg.class_name(), class);
        }
    }

    #[test]
    fn argument_errors_say_which_argument_and_value() {
        // Issue 14: the spec reader locates the key from these fields, not from the message.
        let about = |class: &str, v: Value| {
            let e = err(class, v);
            (e.argument, e.value)
        };
        assert_eq!(about("Dense", json!({"unit": 3})), (Some("unit".into()), Some("3".into())));
        assert_eq!(about("Dense", json!({})), (Some("units".into()), None));
        assert_eq!(
            about("Dense", json!({"units": 3, "activation": "rellu"})),
            (Some("activation".into()), Some("\"rellu\"".into()))
        );
        assert_eq!(about("Dropout", json!({"rate": "half"})), (Some("rate".into()), Some("\"half\"".into())));
        assert_eq!(about("ReLU", json!({"max_value": [1]})), (Some("max_value".into()), Some("[1]".into())));
        let e = err("Dropout", json!({"rate": "half"}));
        assert_eq!(e.message, "Dropout: rate must be a number, got \"half\"");
    }

    #[test]
    fn arguments_are_checked_with_suggestions() {
        let e = err("Dense", json!({"unit": 3}));
        assert!(e.message.starts_with("Dense: unknown argument \"unit\"; did you mean \"units\"?"), "{}", e.message);
        let e = err("Dense", json!({}));
        assert_eq!(e.message, "Dense: missing required argument \"units\"");
        let e = err("Dens", json!({}));
        assert_eq!(e.message, "unknown layer class \"Dens\"; did you mean \"Dense\"?");
        let w =
            layer_from_args("WeightNormalization", &args(json!({"layer": {"class": "Dense", "units": 3}}))).unwrap();
        assert_eq!(w.class_name(), "WeightNormalization");
        assert!(err("WeightNormalization", json!({"layer": {"class": "Conv2D"}}))
            .message
            .contains("wraps a Dense layer"));
        let e = err("Dense", json!({"units": 3, "activation": "rellu"}));
        assert!(e.message.contains("rellu"), "{}", e.message);
        // One integer means every spatial axis; pooling strides default to the pool size.
        let c = layer_from_args("Conv2D", &args(json!({"filters": 8, "kernel_size": 3, "padding": "same"}))).unwrap();
        let built = c.build("c".into(), &[5, 5, 1], &mut sinew_tensor::Rng::seed(0)).unwrap();
        assert_eq!(built.output_shape(), [5, 5, 8]);
        let p = layer_from_args("MaxPooling2D", &args(json!({"pool_size": 2}))).unwrap();
        assert_eq!(p.build("p".into(), &[6, 6, 3], &mut sinew_tensor::Rng::seed(0)).unwrap().output_shape(), [3, 3, 3]);
    }
}
