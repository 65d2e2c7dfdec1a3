//! `sinew predict` for models trained from images, a time series or a text corpus: the saved
//! preprocessing says how to turn the input file into model input. Each result is one JSON line.

use crate::saved::{OnUnknown, Saved};
use anyhow::{bail, Context, Result};
use serde_json::json;
use sinew::data::{load_image, read_time_series, MinMaxScaler};
use sinew::prelude::*;
use std::path::{Path, PathBuf};

fn images_in(input: &Path) -> Result<Vec<PathBuf>> {
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)
        .with_context(|| format!("{}: cannot list the folder", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| sinew::data::is_image_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .png or .jpg images", input.display());
    }
    Ok(files)
}

/// What `sinew predict` was asked beyond the model and its input.
pub struct Ask {
    /// Values to forecast after a series (time-series models).
    pub horizon: usize,
    /// Characters to generate, their sampling temperature, and the seed text given on the
    /// command line (text models; else the input file is the seed).
    pub length: usize,
    pub temperature: f64,
    pub seed_text: Option<String>,
}

/// The model's predictions for `input`, as JSON lines.
pub fn predict(
    model: &mut Model,
    saved: &Saved,
    input: Option<&Path>,
    ask: &Ask,
    rng: &mut Rng,
) -> Result<Vec<String>> {
    let shape: Vec<usize> = model.input_shape().map(<[usize]>::to_vec).context("the model has no input shape")?;
    let text = matches!(saved, Saved::Text { .. });
    if ask.seed_text.is_some() && !text {
        bail!("--seed-text applies to a text model; this one was trained on {}", saved.kind());
    }
    if ask.horizon != 1 && !matches!(saved, Saved::TimeSeries { .. }) {
        bail!("--horizon applies to a time-series model; this one was trained on {}", saved.kind());
    }
    if let &Saved::Text { seq_len, ref vocab, shifted } = saved {
        let vocab: Vec<char> = vocab.iter().filter_map(|s| s.chars().next()).collect();
        let seed = match (&ask.seed_text, input) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) => {
                std::fs::read_to_string(p).with_context(|| format!("{}: cannot read the seed text", p.display()))?
            }
            (None, None) => bail!("a text model needs a seed: --seed-text \"...\" or a file to continue"),
        };
        let (t, n) = (ask.temperature, ask.length);
        let text = if shifted {
            crate::sources::generate_stepped(model, &vocab, &seed, n, t, rng)?
        } else {
            crate::sources::generate(model, &shape, &vocab, seq_len, &seed, n, t, rng)?
        };
        return Ok(vec![json!({"seed": seed, "temperature": t, "generated": text}).to_string()]);
    }
    let input = input.context("give the input to predict (a CSV, an image or folder of images, or a series)")?;
    match saved {
        &Saved::Image { height: h, width: w, channels: c, ref classes } => {
            // An autoencoder trained on these images outputs images, not a score per class.
            let scores = model.output_shape().map_or(0, |s| s.iter().product::<usize>());
            if scores != classes.len() && !(scores == 1 && classes.len() == 2) {
                bail!(
                    "this model outputs {scores} values per image, not a score for each of its {} classes (an autoencoder?); sinew predict serves classifiers",
                    classes.len()
                );
            }
            let files = images_in(input)?;
            let mut lines = vec![];
            for f in files {
                let img = load_image(&f, (h, w), c)?.mul_scalar(1.0 / 255.0);
                let mut dims = vec![1];
                dims.extend(&shape);
                let out = model.predict(img.reshape(dims), 1)?;
                let best = crate::run::predicted_ids(&out)[0];
                let out = out.to_vec_f32();
                let label = classes.get(best).cloned().unwrap_or_else(|| best.to_string());
                lines.push(json!({"file": f, "prediction": label, "outputs": out}).to_string());
            }
            Ok(lines)
        }
        &Saved::TimeSeries { ref column, window, ref scaler } => {
            let scaler = MinMaxScaler::from_json(scaler)?;
            let ts = read_time_series(input, &[column.as_str()])?;
            let v = ts.values.to_vec_f32();
            if v.len() < window {
                bail!("{}: {} values, the model needs the last {window}", input.display(), v.len());
            }
            let last = Tensor::from_vec(v[v.len() - window..].to_vec(), [window, 1]);
            // The notes' recursive forecast: predict, append, slide, `horizon` times.
            let k = ask.horizon;
            let scaled = model.forecast(&scaler.transform(&last)?, k)?;
            let values = scaler.inverse_transform(&scaled.reshape([k, 1]))?.to_vec_f32();
            Ok(vec![json!({"after": ts.index.last(), "next": values[0], "forecast": values}).to_string()])
        }
        Saved::Text { .. } => unreachable!("text models are handled above"),
        Saved::Table { .. } => bail!("a table model predicts CSV rows (this is handled by the caller)"),
    }
}

/// Accuracy and classification report of an image model over a class-per-folder tree whose
/// folder names are the model's classes.
pub fn evaluate_images(model: &mut Model, saved: &Saved, dir: &Path) -> Result<(f64, String)> {
    let Saved::Image { height, width, channels, classes } = saved.clone() else {
        bail!("{}: the model was not trained on images", dir.display());
    };
    let opts = sinew::data::ImageFolder {
        image_size: (height, width),
        channels,
        batch_size: 256,
        shuffle: false,
        ..Default::default()
    };
    let ds = sinew::data::image_dataset_from_directory(dir, &opts)?;
    // The folders' own ids follow their sorted names; map them to the model's classes.
    let to_model: Vec<usize> = ds
        .class_names
        .iter()
        .map(|c| {
            classes.iter().position(|k| k == c).with_context(|| {
                format!("{}: class folder {c:?} is not one of the model's classes {classes:?}", dir.display())
            })
        })
        .collect::<Result<_>>()?;
    let shape: Vec<usize> = model.input_shape().map(<[usize]>::to_vec).context("the model has no input shape")?;
    let (mut truth, mut pred) = (vec![], vec![]);
    for b in sinew::data::collect(&ds.dataset)? {
        let n = b.y[0].numel();
        let mut dims = vec![n];
        dims.extend(&shape);
        let out = model.predict(b.x[0].mul_scalar(1.0 / 255.0).reshape(dims), 256)?;
        pred.extend(crate::run::predicted_ids(&out));
        truth.extend(b.y[0].to_vec_f32().iter().map(|&v| to_model[v as usize]));
    }
    let acc = truth.iter().zip(&pred).filter(|(a, b)| a == b).count() as f64 / truth.len().max(1) as f64;
    let names: Vec<&str> = classes.iter().map(String::as_str).collect();
    let report = sinew::data::classification_report(&truth, &pred, names.len(), Some(&names))?;
    Ok((acc, report.to_string()))
}

/// The categories of `df` (read from `input`) that the table model never saw, under `policy`:
/// with `Error`, the first is an error naming the file, its line (the header is line 1), the
/// column and the value; with `Ignore`, one warning per column goes to stderr and each affected
/// row's unseen values come back (row -> `{column: value}`) for the JSON output.
pub fn unknown_categories(
    recipe: &sinew::data::FittedPreprocessor,
    df: &sinew::data::DataFrame,
    input: &Path,
    policy: OnUnknown,
) -> Result<std::collections::BTreeMap<usize, serde_json::Map<String, serde_json::Value>>> {
    let unknown = recipe.unknown_categories(df)?;
    if let (OnUnknown::Error, Some((column, row, value))) = (policy, unknown.first()) {
        bail!(
            "{}:{}: column {column:?} has category {value:?}, unseen in training (the model refuses unseen categories; --on-unknown ignore encodes them as all zeros, as Keras and scikit-learn do)",
            input.display(),
            row + 2
        );
    }
    let mut rows: std::collections::BTreeMap<usize, serde_json::Map<String, serde_json::Value>> = Default::default();
    let mut columns: Vec<(&str, Vec<usize>)> = vec![];
    for (column, row, value) in &unknown {
        rows.entry(*row).or_default().insert(column.clone(), json!(value));
        match columns.iter_mut().find(|(c, _)| c == column) {
            Some((_, lines)) => lines.push(row + 2),
            None => columns.push((column, vec![row + 2])),
        }
    }
    for (column, lines) in columns {
        let shown: Vec<String> = lines.iter().take(5).map(usize::to_string).collect();
        let more = if lines.len() > 5 { ", ..." } else { "" };
        eprintln!(
            "warning: {}: column {column:?}: {} row(s) with categories unseen in training, encoded as all zeros (lines {}{more})",
            input.display(),
            lines.len(),
            shown.join(", ")
        );
    }
    Ok(rows)
}
