//! [`Saved`]: what `sinew train` stores in a model file so that `sinew predict` and `sinew
//! evaluate` can turn raw inputs into model inputs. One typed, versioned enum, written by serde
//! in one place ([`Saved::to_json`]) and read in one place ([`Saved::from_model`]).
//!
//! The model keeps it as JSON (`Model::set_preprocessing`): the library does not know the
//! command line's sources. Files written before the version field (version 1 without `version`,
//! and tables without `kind`) still read.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sinew::data::FittedPreprocessor;
use sinew::prelude::Model;
use std::path::Path;

/// The version this build writes.
pub const VERSION: u32 = 1;

/// What `sinew predict` and `sinew evaluate` do with a category a table model never saw in
/// training: refuse the input, naming the column, the value and the line (`error`, the
/// default), or encode it as all zeros with a warning per column (`ignore`, what Keras'
/// `StringLookup` and scikit-learn's `handle_unknown="ignore"` do).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OnUnknown {
    #[default]
    Error,
    Ignore,
}

/// How a model's raw inputs are prepared, by the kind of source it was trained from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Saved {
    /// Images (a folder of class folders, MNIST, the built-in digits): resized to `height` x
    /// `width` with `channels`, scaled to [0, 1].
    Image { height: usize, width: usize, channels: usize, classes: Vec<String> },
    /// A CSV table: the fitted column recipe, the target column, and the class names (empty for
    /// a regression target).
    Table {
        recipe: Value,
        target: String,
        #[serde(default)]
        classes: Vec<String>,
        /// The policy for unseen categories (models written before it existed: `error`).
        #[serde(default)]
        on_unknown: OnUnknown,
        /// A multi-output model's targets, one per output in order (`target` and `classes`
        /// are then the first's); empty for one output.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        outputs: Vec<OutputTarget>,
    },
    /// One column of a time series: the last `window` values, min-max scaled, predict the next.
    TimeSeries { column: String, window: usize, scaler: Value },
    /// A character model over `vocab`: one-hot windows of `seq_len` characters predict the next,
    /// or (`shifted`) it reads character ids and predicts at every step, and generates one
    /// character at a time through a stateful copy.
    Text {
        seq_len: usize,
        vocab: Vec<String>,
        #[serde(default)]
        shifted: bool,
    },
}

/// One output of a multi-output table model: its target column and class names (empty for a
/// value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputTarget {
    pub target: String,
    #[serde(default)]
    pub classes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Versioned {
    #[serde(default = "first_version")]
    version: u32,
    #[serde(flatten)]
    saved: Saved,
}

fn first_version() -> u32 {
    1
}

impl Saved {
    /// A table model's policy for unseen categories; `None` for other models.
    pub fn on_unknown(&self) -> Option<OnUnknown> {
        match self {
            Saved::Table { on_unknown, .. } => Some(*on_unknown),
            _ => None,
        }
    }

    /// The JSON stored in the model file.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(Versioned { version: VERSION, saved: self.clone() }).expect("plain data serialises")
    }

    /// Reads what [`Saved::to_json`] wrote (or an older file's form).
    pub fn from_json(v: &Value) -> Result<Self> {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            // Tables were saved without a kind before it was typed.
            o.entry("kind").or_insert_with(|| Value::from("table"));
        }
        let versioned: Versioned = serde_json::from_value(v).context("unreadable saved preprocessing")?;
        if versioned.version > VERSION {
            bail!(
                "saved preprocessing version {} is newer than this sinew reads ({VERSION}); update sinew",
                versioned.version
            );
        }
        Ok(versioned.saved)
    }

    /// The preprocessing saved in `model` (loaded from `path`, named in errors).
    pub fn from_model(model: &Model, path: &Path) -> Result<Self> {
        let p = model.preprocessing().with_context(|| {
            format!("{}: the model has no saved preprocessing (it was not trained by `sinew train`)", path.display())
        })?;
        Self::from_json(p).with_context(|| format!("{}: bad saved preprocessing", path.display()))
    }

    /// The kind's name, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Saved::Image { .. } => "image",
            Saved::Table { .. } => "table",
            Saved::TimeSeries { .. } => "time_series",
            Saved::Text { .. } => "text",
        }
    }

    /// The class names, where the model predicts classes.
    pub fn classes(&self) -> &[String] {
        match self {
            Saved::Image { classes, .. } | Saved::Table { classes, .. } => classes,
            _ => &[],
        }
    }

    /// A table's fitted recipe and target column; an error for another kind, or for a recipe
    /// that does not read back.
    pub fn table(&self) -> Result<(FittedPreprocessor, &str)> {
        match self {
            Saved::Table { recipe, target, .. } => {
                Ok((FittedPreprocessor::from_json(recipe).context("the saved column recipe")?, target))
            }
            other => bail!("the model was trained on {} data, not a CSV table", other.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn saved_round_trips_every_kind_and_reads_older_files() {
        let all = [
            Saved::Image { height: 8, width: 8, channels: 1, classes: vec!["0".into(), "1".into()] },
            Saved::Table {
                recipe: json!({"steps": []}),
                target: "y".into(),
                classes: vec![],
                on_unknown: OnUnknown::Ignore,
                outputs: vec![OutputTarget { target: "y".into(), classes: vec![] }],
            },
            Saved::TimeSeries { column: "v".into(), window: 12, scaler: json!({"min": [0.0]}) },
            Saved::Text { seq_len: 5, vocab: vec!["a".into()], shifted: true },
        ];
        for s in all {
            let v = s.to_json();
            assert_eq!(v["version"], json!(VERSION));
            assert_eq!(v["kind"], json!(s.kind()));
            assert_eq!(Saved::from_json(&v).unwrap(), s);
        }
        // A table saved before the kind and version were written.
        let old = json!({"recipe": {"steps": []}, "target": "age", "classes": ["a", "b"]});
        assert_eq!(Saved::from_json(&old).unwrap().classes(), ["a", "b"]);
        let newer = json!({"version": VERSION + 1, "kind": "text", "seq_len": 1, "vocab": []});
        assert!(format!("{:#}", Saved::from_json(&newer).unwrap_err()).contains("newer"));
        let bad = json!({"kind": "image", "height": "tall"});
        assert!(Saved::from_json(&bad).is_err());
    }
}
