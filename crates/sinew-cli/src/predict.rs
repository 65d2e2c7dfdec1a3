//! `sinew predict` for models trained from images, a time series or a text corpus: the saved
//! preprocessing says how to turn the input file into model input. Each result is one JSON line.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
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
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
                Some("png" | "jpg" | "jpeg")
            )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .png or .jpg images", input.display());
    }
    Ok(files)
}

/// The model's predictions for `input`, as JSON lines.
pub fn predict(
    model: &mut Model,
    kind: &str,
    input: &Path,
    length: usize,
    temperature: f64,
    rng: &mut Rng,
) -> Result<Vec<String>> {
    let p: Value = model.preprocessing().cloned().unwrap_or_default();
    let shape: Vec<usize> = model.input_shape().map(<[usize]>::to_vec).context("the model has no input shape")?;
    match kind {
        "image" => {
            let (h, w, c) = (
                p["height"].as_u64().unwrap_or(0) as usize,
                p["width"].as_u64().unwrap_or(0) as usize,
                p["channels"].as_u64().unwrap_or(1) as usize,
            );
            let classes: Vec<String> = p["classes"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let files = images_in(input)?;
            let mut lines = vec![];
            for f in files {
                let img = load_image(&f, (h, w), c)?.mul_scalar(1.0 / 255.0);
                let mut dims = vec![1];
                dims.extend(&shape);
                let out = model.predict(img.reshape(dims), 1)?.to_vec_f32();
                let best = out.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0;
                let label = classes.get(best).cloned().unwrap_or_else(|| best.to_string());
                lines.push(json!({"file": f, "prediction": label, "outputs": out}).to_string());
            }
            Ok(lines)
        }
        "time_series" => {
            let column = p["column"].as_str().unwrap_or_default();
            let window = p["window"].as_u64().unwrap_or(0) as usize;
            let scaler = MinMaxScaler::from_json(&p["scaler"])?;
            let ts = read_time_series(input, &[column])?;
            let v = ts.values.to_vec_f32();
            if v.len() < window {
                bail!("{}: {} values, the model needs the last {window}", input.display(), v.len());
            }
            let last = Tensor::from_vec(v[v.len() - window..].to_vec(), [window, 1]);
            let x = scaler.transform(&last)?.reshape([1, window]);
            let y = model.predict(&x, 1)?;
            let next = scaler.inverse_transform(&y.reshape([1, 1]))?.to_vec_f32()[0];
            Ok(vec![json!({"after": ts.index.last(), "next": next}).to_string()])
        }
        "text" => {
            let vocab: Vec<char> = p["vocab"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str()?.chars().next()).collect())
                .unwrap_or_default();
            let seq_len = p["seq_len"].as_u64().unwrap_or(0) as usize;
            let seed = std::fs::read_to_string(input)
                .with_context(|| format!("{}: cannot read the seed text", input.display()))?;
            let text = crate::sources::generate(model, &shape, &vocab, seq_len, &seed, length, temperature, rng)?;
            Ok(vec![json!({"seed": seed, "temperature": temperature, "generated": text}).to_string()])
        }
        other => bail!("the model's saved preprocessing has an unknown kind {other:?}"),
    }
}
