//! What every training command does after `fit`: evaluate on the test split, build the model's
//! record for the report (summary, history, metrics, classification report, confusion matrix,
//! ROC for binary problems, sample predictions), and write the run directory: one model file per
//! model, `run.json` and `report.html`, each written atomically.

use anyhow::{Context, Result};
use sinew::data::{classification_report, confusion_matrix, roc_curve};
use sinew::prelude::*;
use sinew::report::{html_report, write_atomic, ImageRows, ModelRecord, RunRecord, Sample};
use std::path::Path;

/// The test split of a classification task, with what the report needs to show samples.
pub struct TestSet<'a> {
    pub x: &'a Tensor,
    /// Class ids.
    pub y: &'a [usize],
    pub class_names: &'a [String],
    /// `(height, width)` when each row of `x` is a grey image with values in [0, 1].
    pub image: Option<(usize, usize)>,
}

/// Class ids from model outputs: the argmax, or `p > 0.5` for one sigmoid unit.
pub fn predicted_ids(p: &Tensor) -> Vec<usize> {
    let width = p.dims().last().copied().unwrap_or(1);
    if width == 1 {
        return p.to_vec_f32().iter().map(|&x| usize::from(x > 0.5)).collect();
    }
    p.argmax(-1, false).to_vec_f32().iter().map(|&i| i as usize).collect()
}

/// Evaluates `model` on `test` and builds its record; `labels` is the target tensor the model
/// was compiled for.
pub fn record(
    name: &str,
    model: &mut Model,
    history: &History,
    test: &TestSet,
    labels: &Tensor,
) -> Result<ModelRecord> {
    let base = evaluated(name, model, history, test.x, labels)?;
    let p = model.predict(test.x, 256)?;
    let pred = predicted_ids(&p);
    let k = test.class_names.len();
    let names: Vec<&str> = test.class_names.iter().map(String::as_str).collect();
    let report = classification_report(test.y, &pred, k, Some(&names))?;
    let roc = if k == 2 {
        let v = p.to_vec_f32();
        let width = p.dims().last().copied().unwrap_or(1);
        let scores: Vec<f64> = v.chunks(width).map(|r| f64::from(*r.last().unwrap_or(&0.0))).collect();
        Some(roc_curve(test.y, &scores)?)
    } else {
        None
    };
    // Misclassified samples first (up to 12), then correct ones, 16 in all.
    let mut order: Vec<usize> = (0..test.y.len()).filter(|&i| pred[i] != test.y[i]).take(12).collect();
    order.extend((0..test.y.len()).filter(|&i| pred[i] == test.y[i]).take(16 - order.len()));
    let row = test.x.numel() / test.y.len().max(1);
    let xv = test.x.to_vec_f32();
    let samples = order
        .iter()
        .map(|&i| Sample {
            image: test.image.map(|(h, w)| (h, w, xv[i * row..i * row + h * w].to_vec())),
            truth: test.class_names[test.y[i]].clone(),
            predicted: test.class_names[pred[i]].clone(),
        })
        .collect();
    Ok(ModelRecord {
        classification_report: Some(report.to_string()),
        class_names: test.class_names.to_vec(),
        confusion: Some(confusion_matrix(test.y, &pred, k)?),
        roc,
        samples,
        ..base
    })
}

/// The parts of a record every model has: name, summary, history and the test loss and metrics.
fn evaluated(name: &str, model: &mut Model, history: &History, x: &Tensor, labels: &Tensor) -> Result<ModelRecord> {
    let logs = model.evaluate(x, labels, 256)?;
    Ok(ModelRecord {
        name: name.into(),
        summary: model.summary()?,
        history: history.keys().map(|k| (k.to_string(), history.get(k).unwrap_or_default().to_vec())).collect(),
        metrics: logs.0.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ..Default::default()
    })
}

/// The record of an autoencoder: its test loss (the input as the target) and, for grey images,
/// ten test images over their reconstructions.
pub fn record_autoencoder(
    name: &str,
    model: &mut Model,
    history: &History,
    x_test: &Tensor,
    image: Option<(usize, usize)>,
) -> Result<ModelRecord> {
    let mut rec = evaluated(name, model, history, x_test, x_test)?;
    if let Some((height, width)) = image {
        let n = x_test.dims()[0].min(10);
        let few = x_test.narrow(0, 0, n);
        let rows = |t: &Tensor| t.to_vec_f32().chunks(height * width).map(<[f32]>::to_vec).collect::<Vec<_>>();
        let back = model.predict(&few, n)?;
        rec.images.push(ImageRows {
            title: "Reconstructions of test images".into(),
            height,
            width,
            rows: vec![("test image".into(), rows(&few)), ("reconstruction".into(), rows(&back))],
        });
    }
    Ok(rec)
}

/// The record of a regression model: its test loss and metrics plus MAE, MSE, RMSE, R² and
/// explained variance, with the regression report as its text.
pub fn record_regression(
    name: &str,
    model: &mut Model,
    history: &History,
    x_test: &Tensor,
    truth: &[f32],
    labels: &Tensor,
) -> Result<ModelRecord> {
    let mut rec = evaluated(name, model, history, x_test, labels)?;
    let pred: Vec<f64> = model.predict(x_test, 256)?.to_vec_f32().iter().map(|&v| f64::from(v)).collect();
    let truth: Vec<f64> = truth.iter().map(|&v| f64::from(v)).collect();
    let r = sinew::data::regression_report(&truth, &pred)?;
    rec.metrics.extend([
        ("test_mae".to_string(), r.mae),
        ("test_rmse".to_string(), r.rmse),
        ("test_r2".to_string(), r.r2),
        ("test_explained_variance".to_string(), r.explained_variance),
    ]);
    rec.classification_report = Some(r.to_string());
    Ok(rec)
}

/// The forecast of a time series' test period (the notes' recursive loop from the last
/// training window), in the series' units: its RMSE and the seasonal-naive baseline's join the
/// metrics, and the three series the report's forecast chart.
pub fn record_forecast(rec: &mut ModelRecord, model: &mut Model, f: &crate::task::Forecast) -> Result<()> {
    let k = f.truth.len();
    let scaled = model.forecast(&f.history, k)?;
    let pred = f.scaler.inverse_transform(&scaled.reshape([k, 1]))?.to_vec_f32();
    let as64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let (truth, pred, baseline) = (as64(&f.truth), as64(&pred), as64(&f.baseline));
    let rmse = sinew::data::regression_report(&truth, &pred)?.rmse;
    let base = sinew::data::regression_report(&truth, &baseline)?.rmse;
    rec.metrics.extend([("forecast_rmse".to_string(), rmse), ("baseline_rmse".to_string(), base)]);
    rec.forecast = vec![("actual".into(), truth), ("forecast".into(), pred), ("seasonal naive".into(), baseline)];
    Ok(())
}

/// What to generate for a text model's report.
pub struct Generation<'a> {
    pub vocab: &'a [char],
    pub seed: &'a str,
    pub length: usize,
    pub temperatures: &'a [f64],
}

/// The record of a model trained on shifted text: its test loss and metrics, and text it
/// generates from the seed at each temperature (the report's generated samples).
pub fn record_text(
    name: &str,
    model: &mut Model,
    history: &History,
    x_test: &Tensor,
    labels: &Tensor,
    gen: &Generation,
    seed: u64,
) -> Result<ModelRecord> {
    let mut rec = evaluated(name, model, history, x_test, labels)?;
    let mut rng = Rng::seed(seed);
    for &t in gen.temperatures {
        let text = crate::sources::generate_stepped(model, gen.vocab, gen.seed, gen.length, t, &mut rng)?;
        rec.generated.push((format!("temperature {t}, seed {:?}", gen.seed), format!("{}{text}", gen.seed)));
    }
    Ok(rec)
}

/// Writes `run.json` and `report.html` into `dir` (created if needed).
pub fn write_run(dir: &Path, run: &RunRecord) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the run directory {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&run.to_json())?;
    write_atomic(&dir.join("run.json"), json.as_bytes())?;
    write_atomic(&dir.join("report.html"), html_report(run).as_bytes())?;
    Ok(())
}

/// Rebuilds `report.html` from a run directory's `run.json` (`sinew report RUN_DIR`).
pub fn rebuild_report(dir: &Path) -> Result<std::path::PathBuf> {
    let path = dir.join("run.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read the run record", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: the run record is not valid JSON", path.display()))?;
    let run = RunRecord::from_json(&v).with_context(|| format!("{}: not a sinew run record", path.display()))?;
    let out = dir.join("report.html");
    write_atomic(&out, html_report(&run).as_bytes())?;
    Ok(out)
}
