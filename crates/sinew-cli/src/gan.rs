//! `sinew train` for `model.type = "gan"`: the notes' two-phase loop over the training images
//! (shuffled with a buffer of 1000, batched with `drop_remainder`, prefetched): the
//! discriminator on generated (0) and real (1) images, then the generator through the frozen
//! discriminator on noise labelled real. The report shows a row of samples per epoch (from the
//! same noise every epoch) and the two losses.

use crate::output::Out;
use crate::run::write_run;
use crate::spec::{ModelKind, Spec};
use crate::task::Task;
use anyhow::{bail, Context, Result};
use serde_json::json;
use sinew::prelude::*;
use sinew::report::{ImageRows, ModelRecord, RunRecord};

/// Samples shown per epoch in the report.
const SHOWN: usize = 10;

pub fn train(mut spec: Spec, task: Task, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let ModelKind::Gan { codings, range: (lo, hi), .. } = spec.kind else { unreachable!("a GAN spec") };
    let Some((height, width)) = task.image else {
        bail!("{}: a GAN trains on images (an mnist, digits or image_folder source)", spec.path.display());
    };
    out.say(format!("{}: {}", spec.name, task.description));
    let mut gan = crate::train::build_model(&mut spec, 0)?;
    out.say(gan.summary()?);
    let image = gan.submodel("generator")?.output_shape().unwrap_or_default().to_vec();
    let n = task.x_train.dims()[0];
    if image.iter().product::<usize>() * n != task.x_train.numel() {
        bail!(
            "{}: model.generator makes images of shape {image:?}, but the data's have {} values each",
            spec.path.display(),
            task.x_train.numel() / n.max(1)
        );
    }
    let mut dims = vec![n];
    dims.extend(&image);
    // Pixels in [0, 1], mapped to the generator's range (a tanh output: [-1, 1]).
    let x = task.x_train.reshape(dims).affine(hi - lo, lo);
    let batch = spec.fit.batch_size;
    let dataset = Dataset::from_tensor_slices(&[x], &[])?.shuffle(1000, spec.seed).batch(batch, true).prefetch(1);
    let mut rng = Rng::seed(spec.seed);
    let shown_noise = Tensor::rand_normal([SHOWN, codings], 0.0, 1.0, &mut rng);
    let y1 = Tensor::concat(&[&Tensor::zeros([batch, 1]), &Tensor::ones([batch, 1])], 0);
    let y2 = Tensor::ones([batch, 1]);
    let (mut d_hist, mut g_hist, mut rows) = (vec![], vec![], vec![]);
    let epochs = epochs_override.unwrap_or(spec.fit.epochs);
    for epoch in 1..=epochs {
        let (mut d_sum, mut g_sum, mut steps) = (0.0, 0.0, 0usize);
        for b in dataset.iter() {
            let x_batch = b?.x.remove(0);
            let noise = Tensor::rand_normal([batch, codings], 0.0, 1.0, &mut rng);
            let fake = gan.submodel_mut("generator")?.predict(&noise, batch)?;
            let d = gan.submodel_mut("discriminator")?;
            d.set_trainable(true);
            d_sum += d.train_on_batch(&Tensor::concat(&[&fake, &x_batch], 0), &y1)?.get("loss").unwrap_or(f64::NAN);
            d.set_trainable(false);
            let noise = Tensor::rand_normal([batch, codings], 0.0, 1.0, &mut rng);
            g_sum += gan.train_on_batch(&noise, &y2)?.get("loss").unwrap_or(f64::NAN);
            steps += 1;
        }
        if steps == 0 {
            bail!("{}: fit.batch_size {batch} is larger than the {n} training images", spec.path.display());
        }
        d_hist.push(d_sum / steps as f64);
        g_hist.push(g_sum / steps as f64);
        out.say(format!("epoch {epoch}/{epochs}: d_loss {:.4}, g_loss {:.4}", d_hist[epoch - 1], g_hist[epoch - 1]));
        let shown =
            gan.submodel_mut("generator")?.predict(&shown_noise, SHOWN)?.affine(1.0 / (hi - lo), -lo / (hi - lo));
        let px = shown.to_vec_f32();
        rows.push((format!("epoch {epoch}"), px.chunks(px.len() / SHOWN).map(<[f32]>::to_vec).collect()));
    }
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let model_path = spec.output_dir.join("model.sinew");
    gan.save(&model_path)?;
    let metrics = vec![
        ("d_loss".to_string(), d_hist.last().copied().unwrap_or(f64::NAN)),
        ("g_loss".to_string(), g_hist.last().copied().unwrap_or(f64::NAN)),
    ];
    let rec = ModelRecord {
        name: spec.name.clone(),
        summary: gan.summary()?,
        history: vec![("d_loss".into(), d_hist), ("g_loss".into(), g_hist)],
        metrics: metrics.clone(),
        images: vec![ImageRows { title: "Generated samples, the same noise each epoch".into(), height, width, rows }],
        ..Default::default()
    };
    let run = RunRecord { title: format!("sinew train: {}", spec.name), data: task.description, models: vec![rec] };
    write_run(&spec.output_dir, &run)?;
    out.say(format!("model: {}\nreport: {}", model_path.display(), spec.output_dir.join("report.html").display()));
    out.result(&json!({
        "name": spec.name, "epochs": epochs,
        "metrics": metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "model": model_path, "report": spec.output_dir.join("report.html"),
    }));
    Ok(metrics)
}
