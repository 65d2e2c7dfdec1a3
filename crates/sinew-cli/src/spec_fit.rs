//! `[compile]` and `[fit]` of a spec: the optimizer, the losses (one per output) and metrics,
//! the fit's settings and callbacks, and what `fit.stream` allows; each error at its line.

use crate::spec::{Compile, Data, EarlyStop, FitSpec, ModelKind, Source, OPTIMIZERS};
use crate::spec_table::Table;
use anyhow::Result;
use sinew::nn::suggest;

/// `[compile]`: optimizer, learning rate and its decay, loss and metrics.
pub(crate) fn compile_section(top: &Table) -> Result<Compile> {
    let compile = top.sub("compile")?.ok_or_else(|| top.err(None, "missing required table [compile]"))?;
    compile.only(&[
        "optimizer",
        "learning_rate",
        "momentum",
        "cosine_decay_steps",
        "cosine_decay_alpha",
        "loss",
        "loss_weights",
        "metrics",
    ])?;
    let optimizer = compile.str("optimizer", Some("adam"))?.to_ascii_lowercase();
    if !OPTIMIZERS.contains(&optimizer.as_str()) {
        return Err(compile.err(
            Some("optimizer"),
            format!(
                "unknown optimizer {optimizer:?}{} (valid: {})",
                suggest(&optimizer, OPTIMIZERS),
                OPTIMIZERS.join(", ")
            ),
        ));
    }
    let losses = match compile.t.get("loss") {
        Some(toml::Value::Array(_)) => compile.strs("loss")?,
        _ => vec![compile.str("loss", None)?],
    };
    let Some(loss) = losses.first().cloned() else {
        return Err(compile.err(Some("loss"), "must name at least one loss"));
    };
    for l in &losses {
        if let Err(e) = sinew::nn::loss_from_name(l) {
            return Err(compile.err(Some("loss"), e.message));
        }
    }
    let loss_weights = match compile.t.get("loss_weights") {
        None => vec![],
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_float().or(v.as_integer().map(|i| i as f64)).filter(|w| w.is_finite() && *w >= 0.0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| compile.err(Some("loss_weights"), "must be a list of non-negative numbers"))?,
        Some(v) => {
            return Err(compile.err(Some("loss_weights"), format!("must be a list, one weight per output, got {v}")))
        }
    };
    if !loss_weights.is_empty() && loss_weights.len() != losses.len() {
        return Err(compile.err(
            Some("loss_weights"),
            format!("{} weights for {} losses (one per output)", loss_weights.len(), losses.len()),
        ));
    }
    let learning_rate =
        compile.t.get("learning_rate").map(|_| compile.float("learning_rate", 0.0, (1e-12, 10.0))).transpose()?;
    let cosine_decay = match compile.t.get("cosine_decay_steps") {
        None => None,
        Some(_) => Some((
            compile.uint("cosine_decay_steps", None)? as u64,
            compile.float("cosine_decay_alpha", 0.0, (0.0, 1.0))?,
        )),
    };
    let momentum = compile.float("momentum", 0.0, (0.0, 0.999))?;
    if momentum > 0.0 && optimizer != "sgd" {
        return Err(compile.err(Some("momentum"), format!("applies to optimizer = \"sgd\", not {optimizer:?}")));
    }
    let (metrics, output_metrics) = match compile.sub("metrics") {
        Ok(Some(per)) => {
            let lists = per.t.keys().map(|k| Ok((k.clone(), per.strs(k)?))).collect::<Result<Vec<_>>>()?;
            (vec![], lists)
        }
        _ => (compile.strs("metrics")?, vec![]),
    };
    let compile_spec = Compile {
        optimizer,
        learning_rate,
        cosine_decay,
        momentum,
        loss,
        losses,
        loss_weights,
        metrics,
        output_metrics,
    };
    Ok(compile_spec)
}

/// `[fit]`: epochs, batches, validation and the callbacks.
pub(crate) fn fit_section(top: &Table) -> Result<FitSpec> {
    let fit_spec = match top.sub("fit")? {
        None => FitSpec {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
            csv_logger: false,
            backup_and_restore: false,
            time_limit: None,
            validate_on_test: false,
            lr_find: false,
            one_cycle: false,
            diagnostics: false,
            stream: false,
        },
        Some(fit) => {
            fit.only(&[
                "epochs",
                "batch_size",
                "validation_split",
                "early_stopping",
                "reduce_lr_on_plateau",
                "model_checkpoint",
                "csv_logger",
                "backup_and_restore",
                "time_limit",
                "validation_data",
                "lr_find",
                "one_cycle",
                "diagnostics",
                "stream",
            ])?;
            let reduce_lr = match fit.sub("reduce_lr_on_plateau")? {
                None => None,
                Some(r) => {
                    r.only(&["monitor", "factor", "patience", "min_lr"])?;
                    Some((
                        r.str("monitor", Some("val_loss"))?,
                        r.float("factor", 0.1, (1e-9, 0.999_999))?,
                        r.uint("patience", Some(10))?,
                        r.float("min_lr", 0.0, (0.0, 10.0))?,
                    ))
                }
            };
            let checkpoint = match fit.sub("model_checkpoint")? {
                None => None,
                Some(c) => {
                    c.only(&["monitor", "save_best_only"])?;
                    Some((c.str("monitor", Some("val_loss"))?, c.bool("save_best_only", true)?))
                }
            };
            let early_stopping = match fit.sub("early_stopping")? {
                None => None,
                Some(es) => {
                    es.only(&["monitor", "patience", "min_delta", "restore_best_weights"])?;
                    Some(EarlyStop {
                        monitor: es.str("monitor", Some("val_loss"))?,
                        patience: match es.t.get("patience") {
                            Some(toml::Value::Integer(i)) if *i >= 0 => *i as usize,
                            None => 0,
                            Some(v) => {
                                return Err(es.err(Some("patience"), format!("must be a non-negative integer, got {v}")))
                            }
                        },
                        min_delta: es.float("min_delta", 0.0, (0.0, f64::MAX))?,
                        restore_best_weights: es.bool("restore_best_weights", false)?,
                    })
                }
            };
            FitSpec {
                epochs: fit.uint("epochs", Some(1))?,
                batch_size: fit.uint("batch_size", Some(32))?,
                validation_split: fit.float("validation_split", 0.0, (0.0, 0.95))?,
                early_stopping,
                reduce_lr,
                checkpoint,
                csv_logger: fit.bool("csv_logger", false)?,
                backup_and_restore: fit.bool("backup_and_restore", false)?,
                time_limit: match fit.t.get("time_limit") {
                    None => None,
                    Some(_) => Some(fit.float("time_limit", 0.0, (1e-3, 1e7))?),
                },
                validate_on_test: match fit.opt_str("validation_data")?.as_deref() {
                    None => false,
                    Some("test") => true,
                    Some(other) => {
                        return Err(fit.err(
                            Some("validation_data"),
                            format!("the only value is \"test\" (validate on the test split), got {other:?}"),
                        ))
                    }
                },
                lr_find: fit.bool("lr_find", false)?,
                one_cycle: fit.bool("one_cycle", false)?,
                diagnostics: fit.bool("diagnostics", false)?,
                stream: fit.bool("stream", false)?,
            }
        }
    };
    Ok(fit_spec)
}

/// What `fit.stream` needs: one CSV, a plain model, and no fit
/// setting that holds rows back or passes over the data again.
pub(crate) fn check_stream(top: &Table, data: &Data, fit: &FitSpec, kind: &ModelKind) -> Result<()> {
    let f = top.sub("fit")?.expect("stream is set in [fit]");
    let Source::Csv(c) = &data.source else {
        return Err(f.err(Some("stream"), "applies to a csv source"));
    };
    if c.test_path.is_some() || c.target_path.is_some() {
        return Err(f.err(Some("stream"), "reads one CSV: no data.test_path or data.target_path"));
    }
    if data.scale == "minmax" {
        let d = top.sub("data")?.expect("read by data_section");
        return Err(d.err(
            Some("scale"),
            "with fit.stream the numeric columns are standardised by running statistics: use \"standard\" or \"none\" (a min-max range needs the whole column)",
        ));
    }
    if c.targets.len() > 1 {
        return Err(f.err(Some("stream"), "applies to a single-output model (one data.target)"));
    }
    if !matches!(kind, ModelKind::Plain) {
        return Err(f.err(Some("stream"), "applies to a sequential or functional model"));
    }
    let held = [
        ("validation_split", fit.validation_split > 0.0),
        ("validation_data", fit.validate_on_test),
        ("early_stopping", fit.early_stopping.is_some()),
        ("reduce_lr_on_plateau", fit.reduce_lr.is_some()),
        ("model_checkpoint", fit.checkpoint.is_some()),
        ("backup_and_restore", fit.backup_and_restore),
        ("lr_find", fit.lr_find),
        ("one_cycle", fit.one_cycle),
        ("diagnostics", fit.diagnostics),
    ];
    if let Some((key, _)) = held.iter().find(|(_, on)| *on) {
        return Err(f.err(
            Some(key),
            "does not apply with stream = true: a stream is one pass, each chunk scored before it is learned",
        ));
    }
    Ok(())
}
