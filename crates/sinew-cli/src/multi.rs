//! `sinew train` for a multi-output model: a functional model whose `[model] outputs` name
//! one node per target column (`[data] target = ["a", "b"]`), compiled with one loss per output
//! and Keras' `loss_weights`. Each output's targets are encoded as its loss takes them; the
//! report gives the per-output losses and metrics `fit` and `evaluate` name after the output
//! (`income_loss`, `income_accuracy`), a classification report per class output and a
//! regression report per value output; the model file keeps every output's target and classes
//! for `sinew predict`.

use crate::output::Out;
use crate::run::{predicted_ids, write_run};
use crate::saved::{OutputTarget, Saved};
use crate::spec::Spec;
use crate::task::Task;
use crate::train::{build_model, prepare, targets, Prepared};
use anyhow::{bail, Context, Result};
use serde_json::json;
use sinew::prelude::*;
use sinew::report::{ModelRecord, RunRecord};
use sinew::train::{Tensors, TerminateOnNaN};

/// One output's test targets: class ids and names, or values.
enum Truth<'a> {
    Classes(&'a [usize], &'a [String]),
    Values(&'a [f32]),
}

pub fn train(mut spec: Spec, task: Task, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let f = &spec.fit;
    let single = [
        ("lr_find", f.lr_find),
        ("one_cycle", f.one_cycle),
        ("diagnostics", f.diagnostics),
        ("reduce_lr_on_plateau", f.reduce_lr.is_some()),
        ("model_checkpoint", f.checkpoint.is_some()),
        ("backup_and_restore", f.backup_and_restore),
    ];
    if let Some((key, _)) = single.iter().find(|(_, on)| *on) {
        bail!("{}: fit.{key} applies to a single-output model, and this one has several", spec.path.display());
    }
    let Prepared { x_train, y_train, x_test, y_test, features } = prepare(&spec, &task)?;
    let (mut ys, mut ys_test) = (vec![y_train], vec![y_test]);
    for (m, loss) in task.more.iter().zip(&spec.compile.losses[1..]) {
        let kind = sinew::nn::loss_from_name(loss).map_err(|e| anyhow::anyhow!(e.message))?.target_kind();
        let (a, b) = match &m.values {
            Some((a, b)) => (Tensor::from_vec(a.clone(), [a.len(), 1]), Tensor::from_vec(b.clone(), [b.len(), 1])),
            None => (
                targets(kind, &m.y_train, m.class_names.len(), None)?,
                targets(kind, &m.y_test, m.class_names.len(), None)?,
            ),
        };
        ys.push(a);
        ys_test.push(b);
    }
    out.say(format!("{}: {}", spec.name, task.description));
    let mut model = build_model(&mut spec, features)?;
    out.say(model.summary()?);
    let mut early = crate::train::early_stopping(&spec);
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let mut logger = spec.fit.csv_logger.then(|| CsvLogger::new(spec.output_dir.join("history.csv")));
    let mut nan = TerminateOnNaN::new();
    let mut fit = Fit::new()
        .epochs(epochs_override.unwrap_or(spec.fit.epochs))
        .batch_size(spec.fit.batch_size)
        .validation_split(spec.fit.validation_split)
        .verbose(out.verbose());
    if spec.fit.validate_on_test {
        fit = fit.validation_data(&x_test, Tensors(ys_test.clone()));
    }
    if let Some(cb) = early.as_mut() {
        fit = fit.callback(cb);
    }
    if let Some(cb) = logger.as_mut() {
        fit = fit.callback(cb);
    }
    let history = model.fit(&x_train, Tensors(ys), fit.callback(&mut nan))?;
    crate::train::diverged(&spec, &nan)?;
    // Saved first: every output's target and classes, for predict.
    let mut saved = task.preprocessing.clone().context("a multi-output model trains from a csv source")?;
    if let Saved::Table { target, outputs, .. } = &mut saved {
        *outputs = std::iter::once(OutputTarget { target: target.clone(), classes: task.class_names.clone() })
            .chain(task.more.iter().map(|m| OutputTarget { target: m.name.clone(), classes: m.class_names.clone() }))
            .collect();
    }
    model.set_preprocessing(saved.to_json());
    let model_path = spec.output_dir.join("model.sinew");
    model.save(&model_path)?;

    let logs = model.evaluate(&x_test, Tensors(ys_test), 256)?;
    let mut metrics: Vec<(String, f64)> = logs.iter().map(|(k, v)| (k.to_string(), v)).collect();
    let predictions = model.predict_outputs(&x_test, 256)?;
    let names = model.output_names();
    let mut text = String::new();
    let first_truth = match &task.values {
        Some((_, b)) => Truth::Values(b),
        None => Truth::Classes(&task.y_test, &task.class_names),
    };
    let truths = std::iter::once(first_truth).chain(task.more.iter().map(|m| match &m.values {
        Some((_, b)) => Truth::Values(b),
        None => Truth::Classes(&m.y_test, &m.class_names),
    }));
    for ((name, p), truth) in names.iter().zip(&predictions).zip(truths) {
        text += &format!("output {name}:\n");
        match truth {
            Truth::Classes(y, classes) => {
                let labels: Vec<&str> = classes.iter().map(String::as_str).collect();
                let pred = predicted_ids(p);
                text += &sinew::data::classification_report(y, &pred, labels.len(), Some(&labels))?.to_string();
            }
            Truth::Values(y) => {
                let truth: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
                let pred: Vec<f64> = p.to_vec_f32().iter().map(|&v| f64::from(v)).collect();
                let r = sinew::data::regression_report(&truth, &pred)?;
                text += &r.to_string();
                metrics.push((format!("{name}_r2"), r.r2));
            }
        }
        text += "\n";
    }
    out.say(&text);
    let rec = ModelRecord {
        name: spec.name.clone(),
        summary: model.summary()?,
        history: history.keys().map(|k| (k.to_string(), history.get(k).unwrap_or_default().to_vec())).collect(),
        metrics: metrics.clone(),
        classification_report: Some(text),
        ..Default::default()
    };
    let run = RunRecord { title: format!("sinew train: {}", spec.name), data: task.description, models: vec![rec] };
    write_run(&spec.output_dir, &run)?;
    for (k, v) in &metrics {
        out.say(format!("test {k}: {v:.4}"));
    }
    out.say(format!("model: {}\nreport: {}", model_path.display(), spec.output_dir.join("report.html").display()));
    out.result(&json!({
        "name": spec.name, "epochs": history.epoch.len(),
        "metrics": metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "model": model_path, "report": spec.output_dir.join("report.html"),
    }));
    Ok(metrics)
}
