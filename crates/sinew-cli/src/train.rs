//! `sinew train SPEC.toml`: loads the data the spec names (`load.rs`), builds and compiles its
//! model (`build.rs`), fits, evaluates on the test split, and writes the run directory (model
//! file with its preprocessing, `run.json`, `report.html`). A spec with `[search]`,
//! `fit.stream` or several outputs goes to `search.rs`, `stream.rs` or `multi.rs`.

use crate::output::Out;
use crate::run::{record, write_run, TestSet};
use crate::spec::{ModelKind, Spec};
use crate::task::Task;
use anyhow::{bail, Context, Result};
use serde_json::json;
use sinew::nn::TargetKind;
use sinew::prelude::*;
use sinew::report::RunRecord;
use sinew::train::{BackupAndRestore, TerminateOnNaN};
use sinew::train::{GradientDiagnostics, LrFindOptions, OneCycle};

pub use crate::build::{build_model, optimizer};
pub use crate::load::{feature_count, load_task};

/// What targets the spec's loss takes (the library's loss says; the spec reader has already
/// checked the name).
pub(crate) fn target_kind(spec: &Spec) -> Result<TargetKind> {
    sinew::nn::loss_from_name(&spec.compile.loss)
        .map(|l| l.target_kind())
        .with_context(|| format!("{}: compile.loss", spec.path.display()))
}

/// The target tensor the compiled loss expects: one-hot for a loss over class distributions, a
/// `[n, 1]` column of 0/1 for a binary one, class ids for a sparse one; with `steps`, each
/// sample holds that many ids (`[n, steps]`, or `[n, steps, k]` one-hot).
pub(crate) fn targets(kind: TargetKind, y: &[usize], k: usize, steps: Option<usize>) -> Result<Tensor> {
    let ids = Tensor::from_vec(y.iter().map(|&c| c as f32).collect(), [y.len()]);
    let t = steps.unwrap_or(1);
    let n = y.len() / t;
    Ok(match (kind, steps) {
        (TargetKind::Distribution, None) => sinew::data::to_categorical(&ids, k)?,
        (TargetKind::Distribution, Some(_)) => sinew::data::to_categorical(&ids, k)?.reshape([n, t, k]),
        (TargetKind::Binary, None) => ids.reshape([y.len(), 1]),
        (TargetKind::Binary, Some(_)) => ids.reshape([n, t, 1]),
        (_, Some(_)) => ids.reshape([n, t]),
        _ => ids,
    })
}

/// For ids read by an `Embedding` first layer, checks that the layer has a row for each and that
/// the model scores every class; errors name the spec and the sizes.
fn check_vocabulary(spec: &Spec, model: &Model, classes: usize) -> Result<()> {
    let first = model.layers().first().map(|l| l.config());
    if let Some(dim) = first.as_ref().filter(|c| c["class_name"] == "Embedding").and_then(|c| c["input_dim"].as_u64()) {
        if (dim as usize) < classes {
            bail!(
                "{}: the Embedding's input_dim is {dim}, but the text has {classes} distinct characters; set input_dim = {classes}",
                spec.path.display()
            );
        }
    }
    let out = model.output_shape().and_then(|s| s.last().copied()).unwrap_or(0);
    if out != classes {
        bail!(
            "{}: the model's last layer has {out} units, but the text has {classes} distinct characters to score; set units = {classes}",
            spec.path.display()
        );
    }
    Ok(())
}

/// Trains the spec (or runs its search) and writes its run directory; returns the test metrics.
pub fn train(spec: Spec, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let ranks = crate::dist::ranks().1;
    let plain = matches!(spec.kind, ModelKind::Plain | ModelKind::Autoencoder { .. });
    if ranks > 1 && (!plain || spec.search.is_some() || spec.fit.stream || spec.outputs.len() > 1) {
        bail!(
            "{}: under mpirun ({ranks} ranks), sinew train runs a sequential, functional or autoencoder model with one output, without [search] or fit.stream",
            spec.path.display()
        );
    }
    if ranks > 1 && spec.fit.backup_and_restore {
        bail!(
            "{}: fit.backup_and_restore is not supported under mpirun: rank 0 alone would resume",
            spec.path.display()
        );
    }
    if matches!(spec.kind, ModelKind::Classic(_)) {
        return crate::classic::train(spec, out, epochs_override);
    }
    if spec.search.is_some() {
        return crate::search::train(spec, out, epochs_override);
    }
    if spec.fit.stream {
        return crate::stream::train(spec, out, epochs_override);
    }
    let task = load_task(&spec)?;
    if !task.more.is_empty() {
        return crate::multi::train(spec, task, out, epochs_override);
    }
    run(spec, task, out, epochs_override, None)
}

/// The tensors a model of the spec trains and is tested on.
pub(crate) struct Prepared {
    pub x_train: Tensor,
    pub y_train: Tensor,
    pub x_test: Tensor,
    pub y_test: Tensor,
    /// Values per sample of the task's flat input.
    pub features: usize,
}

/// Checks that the spec's loss fits the task's targets, shapes the inputs to the model's input
/// shape, and encodes the targets the way the loss takes them (an autoencoder's are its inputs).
pub(crate) fn prepare(spec: &Spec, task: &Task) -> Result<Prepared> {
    let kind = target_kind(spec)?;
    let autoencoder = matches!(spec.kind, ModelKind::Autoencoder { .. });
    if !autoencoder && task.values.is_some() == kind.is_classes() {
        let what = if task.values.is_some() {
            "values (a regression loss such as \"mse\")"
        } else {
            "classes (a classification loss)"
        };
        bail!(
            "{}: compile.loss {:?} does not fit this data, whose targets are {what}",
            spec.path.display(),
            spec.compile.loss
        );
    }
    let features = task.x_train.numel() / task.x_train.dims()[0].max(1);
    let shape = spec.input_shape.clone().unwrap_or_else(|| vec![features]);
    let reshape = |t: &Tensor| {
        let mut dims = vec![t.dims()[0]];
        dims.extend(&shape);
        if dims.iter().skip(1).product::<usize>() != t.numel() / t.dims()[0].max(1) {
            bail!(
                "{}: model.input_shape {:?} does not match the data's {} features per sample",
                spec.path.display(),
                shape,
                t.numel() / t.dims()[0].max(1)
            );
        }
        Ok(t.reshape(dims))
    };
    let (x_train, x_test) = (reshape(&task.x_train)?, reshape(&task.x_test)?);
    let k = task.class_names.len();
    let (y_train, y_test) = match &task.values {
        // An autoencoder's target is its input.
        _ if autoencoder => (x_train.clone(), x_test.clone()),
        Some((a, b)) => (Tensor::from_vec(a.clone(), [a.len(), 1]), Tensor::from_vec(b.clone(), [b.len(), 1])),
        None => {
            (targets(kind, &task.y_train, k, task.target_steps)?, targets(kind, &task.y_test, k, task.target_steps)?)
        }
    };
    Ok(Prepared { x_train, y_train, x_test, y_test, features })
}

/// Trains the spec on a loaded task and writes its run directory; `search` is the search this
/// spec's values won, for the report.
pub(crate) fn run(
    mut spec: Spec,
    task: Task,
    out: Out,
    epochs_override: Option<usize>,
    search: Option<sinew::report::SearchRecord>,
) -> Result<Vec<(String, f64)>> {
    if matches!(spec.kind, ModelKind::Gan { .. }) {
        target_kind(&spec)?;
        return crate::gan::train(spec, task, out, epochs_override);
    }
    let autoencoder = matches!(spec.kind, ModelKind::Autoencoder { .. });
    let Prepared { x_train, y_train, x_test, y_test, features } = prepare(&spec, &task)?;
    let (rank, ranks) = crate::dist::ranks();
    let description = match ranks {
        1 => task.description.clone(),
        n => format!(
            "{}; trained data-parallel on {n} MPI ranks, global batch {}",
            task.description, spec.fit.batch_size
        ),
    };
    out.say(format!("{}: {description}", spec.name));
    let mut model = build_model(&mut spec, features)?;
    out.say(model.summary()?);
    if let Some(p) = &spec.pretrain {
        crate::classic::pretrain(&spec, &mut model, &x_train, p, &out)?;
    }
    let k = task.class_names.len();
    // What generating the report's samples needs, checked before hours of training.
    let generation = match task.target_steps {
        Some(_) => {
            check_vocabulary(&spec, &model, k)?;
            let vocab: Vec<char> = task.class_names.iter().filter_map(|c| c.chars().next()).collect();
            let seed = spec.seed_text.clone().unwrap_or_else(|| default_seed(&task.x_test, &vocab));
            let corpus = sinew::data::TextCorpus { text: String::new(), vocab: vocab.clone() };
            corpus.encode(&seed).with_context(|| format!("{}: output.seed_text", spec.path.display()))?;
            model.stepper().with_context(|| {
                format!(
                    "{}: generating from this model needs a Sequential model that can run one step at a time",
                    spec.path.display()
                )
            })?;
            Some((vocab, seed))
        }
        None => None,
    };
    let mut early = early_stopping(&spec);
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let mut reduce = spec.fit.reduce_lr.as_ref().map(|(monitor, factor, patience, min_lr)| {
        let mut cb = ReduceLrOnPlateau::new(monitor);
        (cb.factor, cb.patience, cb.min_lr) = (*factor, *patience, *min_lr);
        cb
    });
    // Rank 0 alone writes files.
    let writer = rank == 0;
    let mut checkpoint = spec.fit.checkpoint.as_ref().filter(|_| writer).map(|(monitor, best)| {
        let mut cb =
            ModelCheckpoint::new(spec.output_dir.join("checkpoint.sinew").display().to_string()).monitor(monitor);
        cb.save_best_only = *best;
        cb
    });
    let mut logger = (spec.fit.csv_logger && writer).then(|| CsvLogger::new(spec.output_dir.join("history.csv")));
    // Kept until the model and the report are written (not deleted when fit returns), so a kill
    // while they are written resumes after the last epoch instead of training again.
    let backup_dir = spec.output_dir.join("backup");
    let mut backup = spec.fit.backup_and_restore.then(|| BackupAndRestore::new(&backup_dir).delete_checkpoint(false));
    // fast.ai's range test, then the one-cycle policy peaking at its pick (or at the compiled rate).
    let finder = if spec.fit.lr_find {
        let f = model.lr_find(&x_train, &y_train, &LrFindOptions::new().batch_size(spec.fit.batch_size))?;
        match f.suggestion {
            Some(s) => out.say(format!("learning-rate range test: {} steps, suggested rate {s:.3e}", f.lrs.len())),
            None => {
                out.say(format!("learning-rate range test: {} steps, no suggestion (the loss never fell)", f.lrs.len()))
            }
        }
        Some(f)
    } else {
        None
    };
    let epochs = epochs_override.unwrap_or(spec.fit.epochs);
    let mut cycle = spec.fit.one_cycle.then(|| {
        let peak = finder
            .as_ref()
            .and_then(|f| f.suggestion)
            .unwrap_or_else(|| model.optimizer().map_or(0.01, |o| o.learning_rate()));
        let rows = x_train.dims()[0] - (x_train.dims()[0] as f64 * spec.fit.validation_split) as usize;
        out.say(format!("one-cycle policy: peak rate {peak:.3e} over {epochs} epochs"));
        OneCycle::new(peak, epochs, rows.div_ceil(spec.fit.batch_size.max(1)))
    });
    // Per-layer gradient norms on a probe of the first training rows.
    let mut diag = spec.fit.diagnostics.then(|| {
        let probe = x_train.dims()[0].min(256);
        GradientDiagnostics::new(x_train.narrow(0, 0, probe), y_train.narrow(0, 0, probe))
    });
    // Always on: a diverged run stops at the batch and says where, instead of training on NaN.
    let mut nan = TerminateOnNaN::new();
    let mut fit = Fit::new()
        .epochs(epochs)
        .batch_size(spec.fit.batch_size)
        .validation_split(spec.fit.validation_split)
        .verbose(out.verbose());
    if let Some(t) = spec.fit.time_limit {
        fit = fit.time_limit(std::time::Duration::from_secs_f64(t));
    }
    if spec.fit.validate_on_test {
        fit = fit.validation_data(&x_test, &y_test);
    }
    if let Some(cb) = early.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = reduce.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = checkpoint.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = logger.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = backup.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = cycle.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = diag.as_mut() {
        fit = fit.callback(cb);
    }
    fit = fit.callback(&mut nan);
    let mut history = crate::dist::fit(&mut model, &x_train, &y_train, fit, spec.overlap)?;
    if let Some(ft) = &spec.fine_tune {
        history = history.then(&fine_tune(&spec, &mut model, ft, &x_train, &y_train, &out)?);
    }
    // A resumed run reports every epoch: those before the kill come back from the backup.
    let history = match &backup {
        Some(b) => b.restored_history.then(&history),
        None => history,
    };
    diverged(&spec, &nan)?;
    let epochs_run = history.epoch.len();
    if !writer {
        return Ok(vec![]);
    }
    // Saved first: nothing after this may lose the training.
    if let Some(p) = &task.preprocessing {
        model.set_preprocessing(p.to_json());
    }
    let model_path = spec.output_dir.join("model.sinew");
    model.save(&model_path)?;
    let mut rec = match (&task.values, &generation) {
        _ if autoencoder => crate::run::record_autoencoder(&spec.name, &mut model, &history, &x_test, task.image)?,
        (Some((_, truth)), _) => {
            crate::run::record_regression(&spec.name, &mut model, &history, &x_test, truth, &y_test)?
        }
        (None, Some((vocab, seed))) => {
            let gen = crate::run::Generation { vocab, seed, length: 300, temperatures: &[0.5, 1.0] };
            crate::run::record_text(&spec.name, &mut model, &history, &x_test, &y_test, &gen, spec.seed)?
        }
        (None, None) => {
            let test = TestSet { x: &x_test, y: &task.y_test, class_names: &task.class_names, image: task.image };
            record(&spec.name, &mut model, &history, &test, &y_test)?
        }
    };
    if let Some(f) = &task.forecast {
        crate::run::record_forecast(&mut rec, &mut model, f)?;
    }
    rec.lr_finder =
        finder.map(|f| sinew::report::LrCurve { lrs: f.lrs, smoothed: f.smoothed, suggestion: f.suggestion });
    rec.diagnostics = diag.map(|d| {
        let findings = d.findings(&history);
        for f in &findings {
            out.say(format!("diagnostics: {}: {}; remedy: {}", f.kind, f.evidence, f.remedy));
        }
        sinew::report::DiagnosticsRecord {
            grad_norms: d.layers.iter().map(|l| (l.name.clone(), l.grad_norm.clone())).collect(),
            update_ratios: d.layers.iter().map(|l| (l.name.clone(), l.update_ratio.clone())).collect(),
            findings: findings.into_iter().map(|f| (f.kind.to_string(), f.evidence, f.remedy.to_string())).collect(),
        }
    });
    rec.search = search;
    out.say(rec.classification_report.clone().unwrap_or_default());
    let metrics = rec.metrics.clone();
    let run = RunRecord { title: format!("sinew train: {}", spec.name), data: description, models: vec![rec] };
    write_run(&spec.output_dir, &run)?;
    if backup.is_some() {
        std::fs::remove_dir_all(&backup_dir)
            .with_context(|| format!("the run finished; cannot remove its backup {}", backup_dir.display()))?;
    }
    for (k, v) in &metrics {
        out.say(format!("test {k}: {v:.4}"));
    }
    out.say(format!("model: {}\nreport: {}", model_path.display(), spec.output_dir.join("report.html").display()));
    let mut result = json!({
        "name": spec.name, "epochs": epochs_run, "metrics": metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "model": model_path, "report": spec.output_dir.join("report.html"),
    });
    // The figures a forecasting or text spec is judged by, at the top level.
    for key in ["forecast_rmse", "baseline_rmse"] {
        if let Some((_, v)) = metrics.iter().find(|(k, _)| k == key) {
            result[key] = json!(v);
        }
    }
    if let Some(v) = history.get("val_loss").and_then(|v| v.last()) {
        result["val_loss"] = json!(v);
    }
    out.result(&result);
    Ok(metrics)
}

/// An error naming the epoch and batch where `TerminateOnNaN` stopped training, if it did.
pub(crate) fn diverged(spec: &Spec, nan: &TerminateOnNaN) -> Result<()> {
    if let Some((epoch, batch, loss)) = nan.stopped {
        bail!(
            "{}: training diverged: the loss of epoch {}, batch {} is {loss}; lower compile.learning_rate or check the data for extreme values (the model was not saved)",
            spec.path.display(),
            epoch + 1,
            batch + 1
        );
    }
    Ok(())
}

/// The spec's `[fit.early_stopping]` as Keras' callback.
pub(crate) fn early_stopping(spec: &Spec) -> Option<EarlyStopping> {
    spec.fit.early_stopping.as_ref().map(|e| {
        let mut cb = EarlyStopping::new(&e.monitor).patience(e.patience);
        cb.min_delta = e.min_delta;
        cb.restore_best_weights = e.restore_best_weights;
        cb
    })
}

/// `[fine_tune]`: unfreezes the named layers of the base (or all of it), compiles again with the
/// lower rate, and trains on; returns that phase's history.
fn fine_tune(
    spec: &Spec,
    model: &mut Model,
    ft: &sinew_cli::transfer_spec::FineTune,
    x: &Tensor,
    y: &Tensor,
    out: &Out,
) -> Result<History> {
    let at = || format!("{}: fine_tune.unfreeze", spec.path.display());
    let base = model.submodel_mut("base").with_context(at)?;
    if ft.unfreeze.is_empty() {
        base.set_trainable(true);
    }
    for name in &ft.unfreeze {
        base.get_layer_mut(name).with_context(at)?.set_trainable(true);
    }
    let compiled = model.optimizer().map_or(1e-3, |o| o.learning_rate());
    let rate = ft.learning_rate.unwrap_or(compiled / 10.0);
    let compile = crate::spec::Compile { learning_rate: Some(rate), cosine_decay: None, ..spec.compile.clone() };
    let metrics: Vec<&str> = spec.compile.metrics.iter().map(String::as_str).collect();
    model.compile(optimizer(&compile)?, spec.compile.loss.as_str(), &metrics)?;
    let what = if ft.unfreeze.is_empty() { "the whole base".to_string() } else { ft.unfreeze.join(", ") };
    out.say(format!("fine-tuning: {what} unfrozen, learning rate {rate:.1e}, {} epochs", ft.epochs));
    let fit = Fit::new()
        .epochs(ft.epochs)
        .batch_size(spec.fit.batch_size)
        .validation_split(spec.fit.validation_split)
        .verbose(out.verbose());
    Ok(crate::dist::fit(model, x, y, fit, spec.overlap)?)
}

/// The first line of the test text (at most 40 characters), when the spec names no seed text.
fn default_seed(x_test: &Tensor, vocab: &[char]) -> String {
    let ids = x_test.to_vec_f32();
    let line: String = ids
        .iter()
        .map(|&i| vocab.get(i as usize).copied().unwrap_or(' '))
        .take_while(|&c| c != '\n')
        .take(40)
        .collect();
    if line.is_empty() {
        vocab.first().map(|c| c.to_string()).unwrap_or_default()
    } else {
        line
    }
}
