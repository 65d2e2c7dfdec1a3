//! Declarative training specs (`sinew train SPEC.toml`): the data source, the model (Keras class
//! names and arguments), compile, fit and output. Every error names the file, the line and the
//! field, and suggests the closest valid name for a typo.

use crate::spec_table::{locate, to_json, Table};
use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use sinew::nn::{layer_from_args, suggest, LayerConfig};
use std::path::{Path, PathBuf};

/// Where the training data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The 8x8 digits built into the binary.
    Digits,
    /// MNIST IDX files (`dir`, else the staged or cached copy).
    Mnist { dir: Option<PathBuf> },
    /// A scikit-learn bundled CSV (iris, wine, breast cancer).
    SklearnCsv { path: PathBuf },
    /// A CSV table with a target column, preprocessed by sinew's column recipe.
    Csv(Box<CsvSource>),
    /// One column of a time-series CSV: `window` past values predict the next. With
    /// `test_steps`, the last that many values are the test period, forecast recursively from the
    /// last training window and scored beside the seasonal-naive baseline of period `season`.
    TimeSeries { path: PathBuf, column: String, window: usize, test_steps: Option<usize>, season: usize },
    /// Images in one sub-folder per class.
    ImageFolder { dir: PathBuf, image_size: (usize, usize), channels: usize },
    /// A plain-text corpus: one-hot windows of `seq_len` characters predict the next one; with
    /// `shifted`, sequences of `seq_len` character ids predict themselves shifted by one (an
    /// `Embedding -> recurrent(return_sequences) -> Dense` model), the last `test_size` of the
    /// text held out. Training windows start every `step` characters.
    Text { path: PathBuf, seq_len: usize, step: usize, max_chars: usize, shifted: bool },
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct CsvSource {
    pub path: PathBuf,
    pub test_path: Option<PathBuf>,
    /// The target column (the first, for a multi-output model).
    pub target: String,
    /// Every target column, one per model output (`target = ["a", "b"]`); just `target` for a
    /// single-output model.
    pub targets: Vec<String>,
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    pub header: bool,
    pub column_names: Vec<String>,
    pub null_values: Vec<String>,
    pub trim: bool,
    /// Characters stripped from the end of every target value (the adult test file's ".").
    pub target_strip: String,
    pub separator: u8,
    /// A second file holding the target in its only column, row for row (scikit-learn's
    /// diabetes data ships that way).
    pub target_path: Option<PathBuf>,
    /// Columns to drop before anything else.
    pub drop: Vec<String>,
    /// Feature steps, in order.
    pub steps: Vec<Step>,
    /// What predicting does with a category unseen in training (saved in the model).
    pub on_unknown: crate::saved::OnUnknown,
    /// Rows per chunk when `fit.stream` reads the file a chunk at a time.
    pub chunk_rows: usize,
    /// With `fit.stream`: one-hot slots reserved per categorical column for categories first
    /// seen after the first chunk (the list grows; the input width stays fixed).
    pub reserve_categories: usize,
}

/// A feature-engineering step on the table, before the column recipe.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The first capture group of `pattern` in `source`, as column `into`.
    Extract { source: String, pattern: String, into: String },
    /// Replaces values of `column` by `map`; values not in it become `other` when given.
    Replace { column: String, map: Vec<(String, String)>, other: Option<String> },
    /// The sum of numeric columns plus `add` (a family size from siblings and parents).
    Sum { columns: Vec<String>, add: f64, into: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    pub source: Source,
    /// `classes`: only the rows of these classes, relabelled in this order (a classification
    /// source's class names: `"5"` for an MNIST digit).
    pub classes: Vec<String>,
    /// `train_rows`: at most this many training rows (the first, in the source's order).
    pub train_rows: Option<usize>,
    pub test_size: f64,
    /// "minmax", "standard" or "none" (for sources without a column recipe).
    pub scale: String,
}

/// One layer: its configuration, the spec line it came from, and for a functional model the
/// node it names (`id`) and the nodes it reads (`inputs`; empty means the previous layer).
pub struct LayerSpec {
    pub config: Box<dyn LayerConfig>,
    pub line: usize,
    pub id: Option<String>,
    pub inputs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Compile {
    pub optimizer: String,
    pub learning_rate: Option<f64>,
    /// Cosine decay of the learning rate to `alpha` times its start over `decay_steps` steps.
    pub cosine_decay: Option<(u64, f64)>,
    /// SGD's momentum (Keras `SGD(momentum=...)`), 0 for none.
    pub momentum: f64,
    /// The loss (the first output's, for a multi-output model).
    pub loss: String,
    /// One loss per output (`loss = ["binary_crossentropy", "mse"]`); just `loss` otherwise.
    pub losses: Vec<String>,
    /// Keras `loss_weights`: each output's weight in the total loss (empty: all 1).
    pub loss_weights: Vec<f64>,
    pub metrics: Vec<String>,
    /// `metrics = { income = ["accuracy"], age = ["mae"] }`: each output's own metrics (Keras'
    /// per-output metrics), by output name.
    pub output_metrics: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStop {
    pub monitor: String,
    pub patience: usize,
    pub min_delta: f64,
    pub restore_best_weights: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FitSpec {
    pub epochs: usize,
    pub batch_size: usize,
    pub validation_split: f64,
    pub early_stopping: Option<EarlyStop>,
    /// Keras ReduceLROnPlateau: monitor, factor, patience, min_lr.
    pub reduce_lr: Option<(String, f64, usize, f64)>,
    /// Keras ModelCheckpoint into the run directory: monitor and save_best_only.
    pub checkpoint: Option<(String, bool)>,
    /// Keras CSVLogger into the run directory (`history.csv`).
    pub csv_logger: bool,
    /// Keras BackupAndRestore into `<run directory>/backup`: a killed `sinew train` run again
    /// resumes after the last finished epoch.
    pub backup_and_restore: bool,
    /// A wall-clock training budget in seconds (`Fit::time_limit`): training stops after the
    /// batch that passes it.
    pub time_limit: Option<f64>,
    /// `validation_data = "test"`: validate on the test split (the notes' forecasting recipe
    /// does; it lets the test set steer early stopping, so say so when reporting).
    pub validate_on_test: bool,
    /// `lr_find = true`: fast.ai's range test before training, its curve in the report.
    pub lr_find: bool,
    /// `one_cycle = true`: the one-cycle policy peaking at the range test's pick (with
    /// `lr_find`) or at `compile.learning_rate`.
    pub one_cycle: bool,
    /// `diagnostics = true`: per-layer gradient norms each epoch, plotted with their findings.
    pub diagnostics: bool,
    /// `stream = true`: one pass over a CSV read `data.chunk_rows` rows at a time, each chunk
    /// predicted then learned (prequential evaluation); the file is never held whole.
    pub stream: bool,
}

/// A model made of two models.
pub enum ModelKind {
    /// One model: `layers`, in a chain or a functional graph.
    Plain,
    /// `type = "autoencoder"`: `layers` is the encoder; the model learns to give back its input.
    Autoencoder { decoder: Vec<LayerSpec> },
    /// `type = "gan"`: `layers` is the generator, fed `codings` normal noise values; trained the
    /// notes' way against the discriminator on images scaled to `range`.
    Gan { discriminator: Vec<LayerSpec>, codings: usize, range: (f64, f64) },
    /// `type = "som"`, `"rbm"` or `"word2vec"`: trained by its own algorithm, no layers.
    Classic(crate::classic_spec::ClassicModel),
}

/// A parsed and checked spec.
pub struct Spec {
    pub path: PathBuf,
    pub name: String,
    pub seed: u64,
    pub data: Data,
    /// Per-sample input shape; `None` means the data's feature count (flat tabular input).
    pub input_shape: Option<Vec<usize>>,
    pub layers: Vec<LayerSpec>,
    /// A functional graph (layers name their `inputs`) instead of a chain.
    pub functional: bool,
    /// An autoencoder or a GAN: what is declared besides `layers` (then the encoder or the
    /// generator).
    pub kind: ModelKind,
    pub compile: Compile,
    pub fit: FitSpec,
    pub output_dir: PathBuf,
    /// `[output] seed_text`: what a text model's generated samples start from.
    pub seed_text: Option<String>,
    /// `[pretrain]`: the leading sigmoid layers pretrained as a deep belief network.
    pub pretrain: Option<crate::classic_spec::Pretrain>,
    /// `[model] outputs`: the nodes a functional model outputs, in order (empty: its last layer).
    pub outputs: Vec<String>,
    /// `[model] base`: a saved model as the first part of this one.
    pub base: Option<crate::transfer_spec::Base>,
    /// `[fine_tune]`: a second phase with part of the base unfrozen.
    pub fine_tune: Option<crate::transfer_spec::FineTune>,
    /// `[search]`: the hyperparameters to search; the fields above are then the first trial's.
    pub search: Option<Box<crate::search_spec::SearchSpec>>,
    /// `[distributed] overlap = true`: under `mpirun`, gradients are summed while the backward
    /// pass goes on (`sinew_dist::DataParallel::overlap`), for ranks with a spare core.
    pub overlap: bool,
}

pub const SOURCES: &[&str] = &["digits", "mnist", "sklearn_csv", "csv", "time_series", "image_folder", "text"];
/// Optimizer names: the library's one table.
pub const OPTIMIZERS: &[&str] = sinew::optim::Optimizer::NAMES;

/// Reads and checks a spec file.
pub fn load(path: &Path) -> Result<Spec> {
    let src = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: cannot read the spec: {e}", path.display()))?;
    parse(&src, path)
}

/// Parses spec text; `file` names it in errors and anchors relative paths.
pub fn parse(src: &str, file: &Path) -> Result<Spec> {
    let root: toml::Table = src.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| src[..s.start].lines().count().max(1));
        anyhow!("{}:{line}: invalid TOML: {}", file.display(), e.message())
    })?;
    if root.contains_key("search") {
        return crate::search_spec::parse(root, src, file);
    }
    parse_table(&root, src, file)
}

/// Reads a parsed spec without `[search]` (one trial's, for a search); `src` is the text the
/// lines of errors are found in.
pub(crate) fn parse_table(root: &toml::Table, src: &str, file: &Path) -> Result<Spec> {
    let top = Table { src, file, section: String::new(), occurrence: 0, t: root };
    top.only(&[
        "name",
        "seed",
        "data",
        "model",
        "compile",
        "fit",
        "output",
        "pretrain",
        "search",
        "fine_tune",
        "distributed",
    ])?;
    let name = top.str("name", Some(file.file_stem().and_then(|s| s.to_str()).unwrap_or("run")))?;
    let seed = match root.get("seed") {
        None => 1,
        Some(toml::Value::Integer(i)) if *i >= 0 => *i as u64,
        Some(v) => return Err(top.err(Some("seed"), format!("must be a non-negative integer, got {v}"))),
    };

    let data = crate::spec_data::data_section(&top)?;
    let (input_shape, layers, functional, kind, base) = model_section(&top)?;
    let fine_tune = crate::transfer_spec::parse_fine_tune(&top, base.as_ref())?;
    let compile =
        match &kind {
            // The classic models train by their own rule: nothing to compile.
            ModelKind::Classic(_) => match top.sub("compile")? {
                Some(c) => return Err(c.err(
                    None,
                    "applies to models trained by backpropagation, not model.type = \"som\", \"rbm\" or \"word2vec\"",
                )),
                None => Compile {
                    optimizer: String::new(),
                    learning_rate: None,
                    cosine_decay: None,
                    momentum: 0.0,
                    loss: String::new(),
                    losses: vec![],
                    loss_weights: vec![],
                    metrics: vec![],
                    output_metrics: vec![],
                },
            },
            _ => crate::spec_fit::compile_section(&top)?,
        };
    let outputs = outputs(&top, &layers, functional, &data, &compile)?;
    let fit = crate::spec_fit::fit_section(&top)?;
    if fit.stream {
        crate::spec_fit::check_stream(&top, &data, &fit, &kind)?;
    } else if let Some(d) =
        top.sub("data")?.filter(|d| d.t.contains_key("chunk_rows") || d.t.contains_key("reserve_categories"))
    {
        let key = if d.t.contains_key("chunk_rows") { "chunk_rows" } else { "reserve_categories" };
        return Err(d.err(Some(key), "applies with fit.stream = true"));
    }
    let pretrain = match top.sub("pretrain")? {
        None => None,
        Some(p) if matches!(kind, ModelKind::Plain) && !functional => Some(crate::classic_spec::parse_pretrain(&p)?),
        Some(p) => return Err(p.err(None, "applies to a Sequential model (model.type = \"sequential\")")),
    };
    let (output_dir, seed_text) = output_section(&top, &name, &data.source)?;
    let overlap = match top.sub("distributed")? {
        None => false,
        Some(d) => {
            d.only(&["overlap"])?;
            d.bool("overlap", false)?
        }
    };
    Ok(Spec {
        path: file.to_path_buf(),
        name,
        seed,
        data,
        input_shape,
        layers,
        functional,
        kind,
        compile,
        fit,
        output_dir,
        seed_text,
        pretrain,
        base,
        fine_tune,
        outputs,
        search: None,
        overlap,
    })
}

/// What `[model]` declares: the input shape, the layers (an autoencoder's encoder, a GAN's
/// generator), whether they form a functional graph, and the second model, if any.
type ModelParts = (Option<Vec<usize>>, Vec<LayerSpec>, bool, ModelKind, Option<crate::transfer_spec::Base>);

/// `[model]`: the input shape, the layers (checked against their classes' signatures) and, for a
/// functional model, how they are wired; for `type = "autoencoder"`, an encoder and a decoder
/// layer list, and for `type = "gan"` a generator and a discriminator, each a Sequential model
/// inside the whole.
fn model_section(top: &Table) -> Result<ModelParts> {
    let model = top.sub("model")?.ok_or_else(|| top.err(None, "missing required table [model]"))?;
    let kind = model.str("type", Some("sequential"))?;
    if crate::classic_spec::TYPES.contains(&kind.as_str()) {
        return Ok((None, vec![], false, ModelKind::Classic(crate::classic_spec::parse(&model, &kind)?), None));
    }
    let owned = [
        ("encoder", "autoencoder"),
        ("decoder", "autoencoder"),
        ("generator", "gan"),
        ("discriminator", "gan"),
        ("codings", "gan"),
        ("range", "gan"),
    ];
    let mut known = vec!["type", "input_shape", "layers", "base", "base_pop", "trainable", "outputs"];
    known.extend(owned.iter().map(|(k, _)| *k));
    model.only(&known)?;
    let types = ["sequential", "functional", "autoencoder", "gan", "som", "rbm", "word2vec"];
    if !types.contains(&kind.as_str()) {
        return Err(model.err(
            Some("type"),
            format!("must be one of {}, got {kind:?}{}", types.join(", "), suggest(&kind, &types)),
        ));
    }
    if let Some((key, owner)) = owned.iter().find(|(k, o)| model.t.contains_key(*k) && kind != *o) {
        return Err(model.err(Some(key), format!("applies to model.type = \"{owner}\"")));
    }
    if (kind == "autoencoder" || kind == "gan") && model.t.contains_key("layers") {
        return Err(model.err(Some("layers"), format!("a model of type {kind:?} lists its two models' layers instead")));
    }
    let functional = kind == "functional";
    let base = crate::transfer_spec::parse_base(&model, &kind)?;
    let input_shape: Option<Vec<usize>> = match model.t.get("input_shape") {
        Some(toml::Value::Array(a)) => Some(
            a.iter()
                .map(|v| v.as_integer().filter(|&i| i > 0).map(|i| i as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| model.err(Some("input_shape"), "must be a list of positive integers"))?,
        ),
        Some(v) => return Err(model.err(Some("input_shape"), format!("must be a list of positive integers, got {v}"))),
        None => None,
    };
    match kind.as_str() {
        "autoencoder" => {
            let decoder = layer_list(&model, "decoder", false)?;
            Ok((input_shape, layer_list(&model, "encoder", false)?, false, ModelKind::Autoencoder { decoder }, None))
        }
        "gan" => {
            let codings = model.uint("codings", None)?;
            let range = match model.t.get("range") {
                None => (0.0, 1.0),
                Some(toml::Value::Array(a)) if a.len() == 2 => match (a[0].as_float(), a[1].as_float()) {
                    (Some(lo), Some(hi)) if lo < hi => (lo, hi),
                    _ => return Err(model.err(Some("range"), "must be [low, high] with low < high, as floats")),
                },
                Some(v) => return Err(model.err(Some("range"), format!("must be [low, high], got {v}"))),
            };
            let discriminator = layer_list(&model, "discriminator", false)?;
            let generator = layer_list(&model, "generator", false)?;
            Ok((input_shape, generator, false, ModelKind::Gan { discriminator, codings, range }, None))
        }
        _ => Ok((input_shape, layer_list(&model, "layers", functional)?, functional, ModelKind::Plain, base)),
    }
}

/// The `[[model.<key>]]` layer tables: each layer's class and arguments checked against its
/// signature; in a functional model, each `inputs` must name the model input or an earlier layer.
fn layer_list(model: &Table, key: &str, functional: bool) -> Result<Vec<LayerSpec>> {
    let (src, file) = (model.src, model.file);
    let section = format!("model.{key}");
    let layers = match model.t.get(key) {
        Some(toml::Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(model.err(None, format!("needs at least one [[{section}]] table"))),
    };
    let mut layer_specs = vec![];
    for (i, l) in layers.iter().enumerate() {
        let t = l.as_table().ok_or_else(|| model.err(Some(key), "each layer must be a table"))?;
        let lt = Table { src, file, section: section.clone(), occurrence: i, t };
        let class = lt.str("class", None)?;
        let (id, inputs) = if functional { (lt.opt_str("name")?, lt.strs("inputs")?) } else { (None, vec![]) };
        if !functional && t.contains_key("inputs") {
            return Err(lt.err(Some("inputs"), "only a functional model (model.type = \"functional\") wires inputs"));
        }
        let args: Map<String, Value> =
            t.iter().filter(|(k, _)| *k != "class" && *k != "inputs").map(|(k, v)| (k.clone(), to_json(v))).collect();
        let config = layer_from_args(&class, &args).map_err(|e| {
            // Point at the argument the error is about (the library says which), else at the class.
            let key = e.argument.as_deref().filter(|k| args.contains_key(*k)).unwrap_or("class");
            lt.err(Some(key), format!("layer {}: {}", i + 1, e.message))
        })?;
        layer_specs.push(LayerSpec { config, line: locate(src, &section, i, None), id, inputs });
    }
    if functional {
        // Every input must name the model input or an earlier layer.
        let mut known = vec!["input".to_string()];
        for (i, l) in layer_specs.iter().enumerate() {
            for inp in &l.inputs {
                if !known.contains(inp) {
                    let names: Vec<&str> = known.iter().map(String::as_str).collect();
                    let t = layers[i].as_table().expect("checked");
                    let lt = Table { src, file, section: section.clone(), occurrence: i, t };
                    return Err(lt.err(
                        Some("inputs"),
                        format!("layer {}: no earlier node {inp:?}{}", i + 1, suggest(inp, &names)),
                    ));
                }
            }
            if let Some(id) = &l.id {
                known.push(id.clone());
            }
        }
    }
    Ok(layer_specs)
}

/// `[model] outputs` of a functional model, checked against its nodes, and a multi-output
/// model's pieces against each other: one target column and one loss per output.
fn outputs(top: &Table, layers: &[LayerSpec], functional: bool, data: &Data, compile: &Compile) -> Result<Vec<String>> {
    let model = top.sub("model")?.expect("checked by model_section");
    let outputs = model.strs("outputs")?;
    if !outputs.is_empty() && !functional {
        return Err(model.err(Some("outputs"), "applies to model.type = \"functional\""));
    }
    let ids: Vec<&str> = layers.iter().filter_map(|l| l.id.as_deref()).collect();
    if let Some(o) = outputs.iter().find(|o| !ids.contains(&o.as_str())) {
        return Err(
            model.err(Some("outputs"), format!("no layer named {o:?}{} (named layers: {ids:?})", suggest(o, &ids)))
        );
    }
    let targets = match &data.source {
        Source::Csv(c) => c.targets.len(),
        _ => 1,
    };
    let n = outputs.len().max(1);
    if targets != n {
        let d = top.sub("data")?.expect("checked by data_section");
        return Err(d.err(
            Some("target"),
            format!("{targets} target column(s) for {n} model output(s): name one per entry of model.outputs"),
        ));
    }
    if let Some((o, _)) = compile.output_metrics.iter().find(|(o, _)| !outputs.contains(o)) {
        let c = top.sub("compile")?.expect("read by compile_section");
        let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
        return Err(
            c.err(Some("metrics"), format!("no output named {o:?}{} (model.outputs: {names:?})", suggest(o, &names)))
        );
    }
    // The classic models compile nothing.
    let losses = compile.losses.len();
    if losses != 0 && losses != n {
        let c = top.sub("compile")?.expect("read by compile_section");
        return Err(c.err(Some("loss"), format!("{losses} loss(es) for {n} model output(s): give one per output")));
    }
    Ok(outputs)
}

/// `[output]`: the run directory (`runs/<name>` by default) and, for a text model, the seed
/// text of the report's generated samples.
fn output_section(top: &Table, name: &str, source: &Source) -> Result<(PathBuf, Option<String>)> {
    let default = || PathBuf::from("runs").join(name);
    Ok(match top.sub("output")? {
        None => (default(), None),
        Some(o) => {
            o.only(&["dir", "seed_text"])?;
            let seed_text = o.opt_str("seed_text")?;
            if seed_text.as_deref() == Some("") {
                return Err(o.err(Some("seed_text"), "must hold at least one character"));
            }
            if seed_text.is_some() && !matches!(source, Source::Text { shifted: true, .. }) {
                return Err(o.err(Some("seed_text"), "applies to a text source with targets = \"shifted\""));
            }
            (o.opt_str("dir")?.map(PathBuf::from).unwrap_or_else(default), seed_text)
        }
    })
}
