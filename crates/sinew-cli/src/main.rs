//! The `sinew` command line. Exit codes: 0 success, 1 a run that failed (bad data, a model below
//! its accuracy target, an unreadable file), 2 a usage or spec error.

mod build;
mod classic;
mod demo;
mod dist;
mod gan;
mod load;
mod multi;
mod output;
mod predict;
mod run;
mod search;
mod sources;
mod stream;
mod table;
mod task;
mod train;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use output::Out;
use saved::Saved;
use serde_json::json;
// The spec reader and the saved preprocessing are the library half of this crate; imported
// here, they keep their `crate::spec` and `crate::saved` paths in the modules.
use sinew::data::{read_csv, CsvOptions, FittedPreprocessor};
use sinew::prelude::*;
use sinew_cli::{saved, spec};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "sinew", version, about = "Deep learning with the ergonomics of Keras, in Rust")]
struct Cli {
    /// Print nothing but errors (and the JSON result under --json).
    #[arg(long, global = true)]
    quiet: bool,
    /// Print the machine-readable result as JSON on stdout; human output moves to stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Seed for splits and weight initialisation (overrides a spec's seed).
    #[arg(long, global = true)]
    seed: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an MLP and a small CNN on the built-in 8x8 digits and write an HTML report.
    Demo {
        /// The run directory.
        #[arg(long, default_value = "sinew-demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 60)]
        epochs: usize,
    },
    /// Train the model a TOML spec declares.
    Train {
        spec: PathBuf,
        /// Override the spec's epochs (a quick check).
        #[arg(long)]
        epochs: Option<usize>,
        /// Override the spec's output directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a spec and build its model without training.
    Check { spec: PathBuf },
    /// Print a saved model's summary.
    Summary { model: PathBuf },
    /// Evaluate a saved model on labelled data.
    ///
    /// DATA is a CSV with the target column (read through the preprocessing saved with the
    /// model) or, for an image model, a folder with one sub-folder per class.
    Evaluate {
        /// A model file written by `sinew train` or `sinew demo`.
        model: PathBuf,
        data: PathBuf,
    },
    /// Predict new inputs through the preprocessing saved with the model.
    ///
    /// INPUT is CSV rows (one JSON line each), an image or a folder of images, a time series (the
    /// next `--horizon` values), or a file of seed text to continue (or give `--seed-text`).
    Predict {
        /// A model file written by `sinew train` or `sinew demo`.
        model: PathBuf,
        input: Option<PathBuf>,
        /// Values to forecast after the series, each fed back as input (time-series models).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        horizon: u64,
        /// The text to continue (text models), instead of an INPUT file.
        #[arg(long)]
        seed_text: Option<String>,
        /// Characters to generate (text models).
        #[arg(long, default_value_t = 200)]
        length: usize,
        /// Sampling temperature (text models).
        #[arg(long, default_value_t = 0.5)]
        temperature: f64,
        /// A category unseen in training (table models): refuse the input, or encode it as all
        /// zeros with a warning. Overrides the policy saved in the model (`error` by default).
        #[arg(long, value_enum)]
        on_unknown: Option<saved::OnUnknown>,
    },
    /// Rebuild a run directory's report.html from its run.json.
    Report { run_dir: PathBuf },
}

/// An error in what the user asked (a spec or the arguments) rather than in running it.
struct UsageError(anyhow::Error);

fn load_model(path: &Path) -> Result<Model> {
    Ok(Model::load(path)?)
}

/// The saved column recipe, the target column and the classes of a model trained from a CSV.
fn saved_recipe(saved: &Saved, path: &Path) -> Result<(FittedPreprocessor, String, Vec<String>)> {
    let (recipe, target) = saved.table().with_context(|| path.display().to_string())?;
    Ok((recipe, target.to_string(), saved.classes().to_vec()))
}

fn run(cli: Cli) -> std::result::Result<(), Result<UsageError, anyhow::Error>> {
    // Under mpirun, rank 0 alone talks.
    let rank = dist::ranks().0;
    let out = Out { quiet: cli.quiet || rank > 0, json: cli.json && rank == 0 };
    let usage = |e: anyhow::Error| Ok(UsageError(e));
    match cli.command {
        Command::Demo { out: dir, epochs } => {
            demo::demo(&dir, epochs, cli.seed.unwrap_or(0), out).map_err(Err)?;
        }
        Command::Train { spec, epochs, out: dir } => {
            let mut s = spec::load(&spec).map_err(usage)?;
            if let Some(seed) = cli.seed {
                s.seed = seed;
            }
            if let Some(d) = dir {
                s.output_dir = d;
            }
            train::train(s, out, epochs).map_err(Err)?;
        }
        Command::Check { spec } => {
            let mut s = spec::load(&spec).map_err(usage)?;
            if let spec::ModelKind::Classic(m) = &s.kind {
                out.say(format!("{m:?}"));
                out.say(format!("{}: ok", spec.display()));
                out.result(&json!({"spec": spec, "ok": true}));
                return Ok(());
            }
            // Without an input shape the model's input is the data's feature count: from the spec
            // and the file's header where that is enough, else from the data.
            let features = match &s.input_shape {
                Some(_) => 0,
                None => match train::feature_count(&s).map_err(Err)? {
                    Some(n) => n,
                    None => {
                        let t = train::load_task(&s).map_err(Err)?;
                        t.x_train.numel() / t.x_train.dims()[0].max(1)
                    }
                },
            };
            if let Some(search) = &s.search {
                let trials = search.tuner(s.seed).plan().len();
                out.say(format!("search: {trials} trials ranked by {}; the first trial's model:", search.objective));
            }
            let mut m = train::build_model(&mut s, features).map_err(usage)?;
            out.say(m.summary().map_err(|e| Err(e.into()))?);
            out.say(format!("{}: ok", spec.display()));
            out.result(&json!({"spec": spec, "ok": true, "params": m.count_params()}));
        }
        Command::Summary { model } => {
            let mut m = load_model(&model).map_err(Err)?;
            let text = m.summary().map_err(|e| Err(e.into()))?;
            out.say(&text);
            out.result(&json!({"model": model, "summary": text}));
        }
        Command::Evaluate { model, data } => {
            let mut m = load_model(&model).map_err(Err)?;
            let saved = Saved::from_model(&m, &model).map_err(Err)?;
            if data.is_dir() && matches!(saved, Saved::Image { .. }) {
                let (acc, report) = predict::evaluate_images(&mut m, &saved, &data).map_err(Err)?;
                out.say(format!("{report}\naccuracy {acc:.4}"));
                out.result(&json!({"model": model, "data": data, "accuracy": acc}));
                return Ok(());
            }
            let (recipe, target, classes) = saved_recipe(&saved, &model).map_err(Err)?;
            let df = read_csv(&data, &CsvOptions::new()).map_err(|e| Err(e.into()))?;
            let policy = saved.on_unknown().unwrap_or_default();
            predict::unknown_categories(&recipe, &df, &data, policy).map_err(Err)?;
            let x = recipe.transform(&df).map_err(|e| Err(e.into()))?;
            let truth = sinew::data::column_str(&df, &target).map_err(|e| Err(e.into()))?;
            let enc = sinew::data::LabelEncoder { classes };
            let ids = enc
                .transform(&truth.into_iter().map(|v| v.unwrap_or_default()).collect::<Vec<_>>())
                .map_err(|e| Err(e.into()))?;
            let pred = run::predicted_ids(&m.predict(&x, 256).map_err(|e| Err(e.into()))?);
            let acc = ids.iter().zip(&pred).filter(|(a, b)| a == b).count() as f64 / ids.len().max(1) as f64;
            let names: Vec<&str> = enc.classes.iter().map(String::as_str).collect();
            let report = sinew::data::classification_report(&ids, &pred, names.len(), Some(&names))
                .map_err(|e| Err(e.into()))?;
            out.say(format!("{report}\naccuracy {acc:.4}"));
            out.result(&json!({"model": model, "data": data, "accuracy": acc}));
        }
        Command::Predict { model, input, horizon, seed_text, length, temperature, on_unknown } => {
            let mut m = load_model(&model).map_err(Err)?;
            let saved = Saved::from_model(&m, &model).map_err(Err)?;
            if !matches!(saved, Saved::Table { .. }) {
                let rng = &mut Rng::seed(cli.seed.unwrap_or(0));
                let ask = predict::Ask { horizon: horizon as usize, length, temperature, seed_text };
                for line in predict::predict(&mut m, &saved, input.as_deref(), &ask, rng).map_err(Err)? {
                    println!("{line}");
                }
                return Ok(());
            }
            let input = input.context("give the CSV rows to predict").map_err(usage)?;
            let (recipe, _, classes) = saved_recipe(&saved, &model).map_err(Err)?;
            let df = read_csv(&input, &CsvOptions::new()).map_err(|e| Err(e.into()))?;
            let policy = on_unknown.or(saved.on_unknown()).unwrap_or_default();
            let unknown = predict::unknown_categories(&recipe, &df, &input, policy).map_err(Err)?;
            let x = recipe.transform(&df).map_err(|e| Err(e.into()))?;
            if let Saved::Table { outputs, .. } = &saved {
                if !outputs.is_empty() {
                    // A multi-output model: each output's prediction under its target's name.
                    let ps = m.predict_outputs(&x, 256).map_err(|e| Err(e.into()))?;
                    for row in 0..df.height() {
                        let mut line = json!({"row": row, "predictions": {}});
                        for (o, p) in outputs.iter().zip(&ps) {
                            let width = p.dims().last().copied().unwrap_or(1);
                            let probs = &p.to_vec_f32()[row * width..(row + 1) * width];
                            let id = run::predicted_ids(&p.narrow(0, row, 1))[0];
                            line["predictions"][&o.target] = match o.classes.get(id) {
                                Some(label) if !o.classes.is_empty() => json!(label),
                                _ => json!(probs[0]),
                            };
                        }
                        if let Some(u) = unknown.get(&row) {
                            line["unknown_categories"] = json!(u);
                        }
                        println!("{line}");
                    }
                    return Ok(());
                }
            }
            let p = m.predict(&x, 256).map_err(|e| Err(e.into()))?;
            let ids = run::predicted_ids(&p);
            let width = p.dims().last().copied().unwrap_or(1);
            for (row, (id, probs)) in ids.iter().zip(p.to_vec_f32().chunks(width)).enumerate() {
                // A regression model (no classes) predicts its output value.
                let prediction = match classes.get(*id) {
                    Some(label) => json!(label),
                    None => json!(probs[0]),
                };
                let mut line = json!({"row": row, "prediction": prediction, "outputs": probs});
                if let Some(u) = unknown.get(&row) {
                    line["unknown_categories"] = json!(u);
                }
                println!("{line}");
            }
        }
        Command::Report { run_dir } => {
            let path = run::rebuild_report(&run_dir).map_err(Err)?;
            out.say(format!("report: {}", path.display()));
            out.result(&json!({"report": path}));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = dist::init() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let result = run(cli);
    dist::finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Ok(UsageError(e))) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
