//! The `[model]` of the notes' classic unsupervised models (issue 17): `type = "som"`, `"rbm"`
//! or `"word2vec"`. Each trains by its own algorithm, so such a spec has no `[compile]`; the
//! model's settings sit in `[model]` beside `type`, with the library's defaults (MiniSom's,
//! scikit-learn's, gensim's). Training them is the binary's `classic` module.

use crate::spec_table::Table;
use anyhow::Result;
use sinew::classic::{
    Architecture, Neighborhood, RbmOptions, SomOptions, Subwords, Topology, VisibleUnits, Word2VecOptions,
};
use sinew::nn::suggest;

/// The classic model types.
pub const TYPES: &[&str] = &["som", "rbm", "word2vec"];

/// A classic model's settings, from `[model]`.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassicModel {
    /// A `x` by `y` map; `batch` trains Kohonen's batch map for `fit.epochs` passes, else
    /// MiniSom's online rule for `fit.epochs` passes over the samples in random order.
    Som { x: usize, y: usize, options: SomOptions, batch: bool },
    /// `fit.batch_size` and `fit.epochs` drive the updates.
    Rbm { options: RbmOptions },
    /// `fit.epochs` passes; `neighbours` are the words whose nearest words the report lists.
    Word2Vec { options: Word2VecOptions, neighbours: Vec<String> },
}

fn choice(t: &Table, key: &str, default: &str, allowed: &[&str]) -> Result<String> {
    let v = t.str(key, Some(default))?;
    if !allowed.contains(&v.as_str()) {
        return Err(
            t.err(Some(key), format!("must be one of {}, got {v:?}{}", allowed.join(", "), suggest(&v, allowed)))
        );
    }
    Ok(v)
}

/// Parses `[model]` for a classic `kind` (one of [`TYPES`]).
pub(crate) fn parse(model: &Table, kind: &str) -> Result<ClassicModel> {
    match kind {
        "som" => {
            model.only(&["type", "x", "y", "sigma", "learning_rate", "neighborhood", "topology", "training"])?;
            let options = SomOptions::new()
                .sigma(model.float("sigma", 1.0, (1e-6, 1e6))?)
                .learning_rate(model.float("learning_rate", 0.5, (1e-9, 1e3))?)
                .neighborhood(match choice(model, "neighborhood", "gaussian", &["gaussian", "bubble"])?.as_str() {
                    "gaussian" => Neighborhood::Gaussian,
                    _ => Neighborhood::Bubble,
                })
                .topology(match choice(model, "topology", "rectangular", &["rectangular", "hexagonal"])?.as_str() {
                    "rectangular" => Topology::Rectangular,
                    _ => Topology::Hexagonal,
                });
            let batch = choice(model, "training", "batch", &["batch", "online"])? == "batch";
            Ok(ClassicModel::Som { x: model.uint("x", Some(10))?, y: model.uint("y", Some(10))?, options, batch })
        }
        "rbm" => {
            model.only(&[
                "type",
                "hidden",
                "visible_units",
                "learning_rate",
                "gibbs_steps",
                "persistent",
                "momentum",
                "weight_decay",
            ])?;
            let visible = match choice(model, "visible_units", "bernoulli", &["bernoulli", "gaussian"])?.as_str() {
                "bernoulli" => VisibleUnits::Bernoulli,
                _ => VisibleUnits::Gaussian,
            };
            let options = RbmOptions::new()
                .hidden(model.uint("hidden", Some(256))?)
                .visible_units(visible)
                .learning_rate(model.float("learning_rate", 0.1, (1e-9, 10.0))?)
                .gibbs_steps(model.uint("gibbs_steps", Some(1))?, model.bool("persistent", true)?)
                .momentum(model.float("momentum", 0.0, (0.0, 0.999))?)
                .weight_decay(model.float("weight_decay", 0.0, (0.0, 1.0))?);
            Ok(ClassicModel::Rbm { options })
        }
        _ => {
            model.only(&[
                "type",
                "architecture",
                "vector_size",
                "window",
                "min_count",
                "negative",
                "sample",
                "alpha",
                "min_alpha",
                "workers",
                "subwords",
                "min_n",
                "max_n",
                "buckets",
                "neighbours",
            ])?;
            let arch = match choice(model, "architecture", "cbow", &["cbow", "skipgram"])?.as_str() {
                "cbow" => Architecture::Cbow,
                _ => Architecture::SkipGram,
            };
            let mut options = Word2VecOptions::new()
                .architecture(arch)
                .vector_size(model.uint("vector_size", Some(100))?)
                .window(model.uint("window", Some(5))?)
                .min_count(model.uint("min_count", Some(5))? as u64)
                .negative(model.uint("negative", Some(5))?)
                .sample(model.float("sample", 1e-3, (0.0, 1.0))?)
                .alpha(model.float("alpha", 0.025, (1e-9, 10.0))?, model.float("min_alpha", 1e-4, (0.0, 10.0))?)
                .workers(model.t.get("workers").map(|_| model.uint("workers", None)).transpose()?.unwrap_or(0));
            let subword_keys = ["min_n", "max_n", "buckets"];
            if model.bool("subwords", false)? {
                let d = Subwords::default();
                options = options.subwords(Subwords {
                    min_n: model.uint("min_n", Some(d.min_n))?,
                    max_n: model.uint("max_n", Some(d.max_n))?,
                    buckets: model.uint("buckets", Some(d.buckets))?,
                });
            } else if let Some(k) = subword_keys.iter().find(|k| model.t.contains_key(**k)) {
                return Err(model.err(Some(k), "applies with subwords = true"));
            }
            Ok(ClassicModel::Word2Vec { options, neighbours: model.strs("neighbours")? })
        }
    }
}

/// `[pretrain]`: a deep belief network's greedy pretraining of a Sequential model's leading
/// sigmoid `Dense` layers, each as an RBM on the one below's hidden probabilities, before `fit`
/// fine-tunes the whole with labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Pretrain {
    /// How many leading layers (default: every layer but the last).
    pub layers: Option<usize>,
    pub epochs: usize,
    pub options: RbmOptions,
}

pub(crate) fn parse_pretrain(t: &Table) -> Result<Pretrain> {
    t.only(&[
        "layers",
        "epochs",
        "learning_rate",
        "batch_size",
        "gibbs_steps",
        "persistent",
        "momentum",
        "weight_decay",
    ])?;
    let options = RbmOptions::new()
        .learning_rate(t.float("learning_rate", 0.05, (1e-9, 10.0))?)
        .batch_size(t.uint("batch_size", Some(20))?)
        .gibbs_steps(t.uint("gibbs_steps", Some(1))?, t.bool("persistent", false)?)
        .momentum(t.float("momentum", 0.5, (0.0, 0.999))?)
        .weight_decay(t.float("weight_decay", 2e-4, (0.0, 1.0))?);
    Ok(Pretrain {
        layers: t.t.get("layers").map(|_| t.uint("layers", None)).transpose()?,
        epochs: t.uint("epochs", Some(5))?,
        options,
    })
}
