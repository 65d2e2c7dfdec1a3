//! Transfer learning in a spec, the Keras recipe: `[model] base` loads a saved model as the
//! first part of a Sequential model (its last `base_pop` layers removed first, Keras'
//! `include_top=False`), frozen unless `trainable = true`; `[[model.layers]]` are the new head.
//! `[fine_tune]` then unfreezes the named layers of the base (or all of it) and trains again
//! with a low learning rate, after the head has learned.
//!
//! ```toml
//! [model]
//! base = "../runs/mnist_digits_0_4/model.sinew"
//! base_pop = 1
//! trainable = false
//!
//! [fine_tune]
//! unfreeze = ["top"]
//! learning_rate = 1e-4
//! epochs = 10
//! ```

use crate::spec_table::Table;
use anyhow::Result;
use std::path::PathBuf;

/// A saved model as the base of the spec's model.
#[derive(Clone, Debug, PartialEq)]
pub struct Base {
    pub path: PathBuf,
    /// Layers removed from its end.
    pub pop: usize,
    /// Whether the base trains with the head (Keras `base_model.trainable`).
    pub trainable: bool,
    /// The spec line of `base`, for errors about the file.
    pub line: usize,
}

/// `[fine_tune]`: a second training phase with part of the base unfrozen.
#[derive(Clone, Debug, PartialEq)]
pub struct FineTune {
    /// Layer names of the base to unfreeze; empty means the whole base.
    pub unfreeze: Vec<String>,
    /// The rate of the second phase (Keras' advice: 10-100 times lower); by default a tenth of
    /// the compiled one.
    pub learning_rate: Option<f64>,
    pub epochs: usize,
}

/// The base fields of `[model]`, if `base` is given; `kind` is the model's type.
pub(crate) fn parse_base(model: &Table, kind: &str) -> Result<Option<Base>> {
    let Some(path) = model.path("base")? else {
        for key in ["base_pop", "trainable"] {
            if model.t.contains_key(key) {
                return Err(
                    model.err(Some(key), "applies to a model with a base (model.base = \"path/to/model.sinew\")")
                );
            }
        }
        return Ok(None);
    };
    if kind != "sequential" {
        return Err(model.err(Some("base"), format!("applies to model.type = \"sequential\", not {kind:?}")));
    }
    let pop = match model.t.get("base_pop") {
        None => 0,
        Some(toml::Value::Integer(i)) if *i >= 0 => *i as usize,
        Some(v) => return Err(model.err(Some("base_pop"), format!("must be a non-negative integer, got {v}"))),
    };
    let line = crate::spec_table::locate(model.src, &model.section, 0, Some("base"));
    Ok(Some(Base { path, pop, trainable: model.bool("trainable", false)?, line }))
}

/// `[fine_tune]`, which needs a base.
pub(crate) fn parse_fine_tune(top: &Table, base: Option<&Base>) -> Result<Option<FineTune>> {
    let Some(f) = top.sub("fine_tune")? else { return Ok(None) };
    if base.is_none() {
        return Err(f.err(None, "fine-tunes a base model: set model.base"));
    }
    f.only(&["unfreeze", "learning_rate", "epochs"])?;
    let unfreeze = match f.t.get("unfreeze") {
        Some(toml::Value::String(s)) if s == "all" => vec![],
        Some(toml::Value::Array(_)) => f.strs("unfreeze")?,
        None => return Err(f.err(None, "missing required field \"unfreeze\" (layer names of the base, or \"all\")")),
        Some(v) => return Err(f.err(Some("unfreeze"), format!("must be a list of layer names or \"all\", got {v}"))),
    };
    let learning_rate = f.t.get("learning_rate").map(|_| f.float("learning_rate", 0.0, (1e-12, 10.0))).transpose()?;
    Ok(Some(FineTune { unfreeze, learning_rate, epochs: f.uint("epochs", Some(10))? }))
}
