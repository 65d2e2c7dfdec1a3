//! `sinew demo`: the first-run experience on the 8x8 digits built into the binary. It trains an
//! MLP and a small CNN with a live progress bar, prints each model's summary, its evaluation and a
//! classification report, saves both models, and writes the HTML report.

use crate::output::Out;
use crate::run::{record, write_run, TestSet};
use anyhow::{bail, Result};
use serde_json::json;
use sinew::data::train_test_split;
use sinew::datasets::load_digits;
use sinew::prelude::*;
use sinew::report::RunRecord;
use std::path::Path;

/// The accuracy both demo models must reach on the held-out digits.
pub const TARGET: f64 = 0.95;

fn mlp(seed: u64) -> Result<Model> {
    let mut m = Sequential::new();
    m.seed(seed).input(&[64]);
    m.add(Dense::new(64).activation(Activation::Relu));
    m.add(Dropout::new(0.1));
    m.add(Dense::new(10).activation(Activation::Softmax));
    m.compile(Optimizer::adam(0.002), "sparse_categorical_crossentropy", &["accuracy"])?;
    m.set_name("digits_mlp");
    Ok(m)
}

fn cnn(seed: u64) -> Result<Model> {
    let mut m = Sequential::new();
    m.seed(seed).input(&[8, 8, 1]);
    m.add(Conv2D::new(16, &[3]).padding(Padding::Same).activation(Activation::Relu));
    m.add(MaxPooling2D::new());
    m.add(Conv2D::new(32, &[3]).padding(Padding::Same).activation(Activation::Relu));
    m.add(Flatten::new());
    m.add(Dense::new(10).activation(Activation::Softmax));
    m.compile(Optimizer::adam(0.002), "sparse_categorical_crossentropy", &["accuracy"])?;
    m.set_name("digits_cnn");
    Ok(m)
}

/// Runs the demo, writing into `out_dir`; returns the two test accuracies.
pub fn demo(out_dir: &Path, epochs: usize, seed: u64, out: Out) -> Result<Vec<(String, f64)>> {
    let data = load_digits().map_err(anyhow::Error::msg)?;
    let n = data.y.len();
    let split = train_test_split(n, 0.2, true, seed, Some(&data.y))?;
    let x = Tensor::from_vec(data.x.clone(), [n, 64]);
    let y = Tensor::from_vec(data.y.iter().map(|&c| c as f32).collect(), [n]);
    let (x_train, x_test) = (x.index_select(0, &split.train), x.index_select(0, &split.test));
    let (y_train, y_test) = (y.index_select(0, &split.train), y.index_select(0, &split.test));
    let y_ids: Vec<usize> = split.test.iter().map(|&i| data.y[i]).collect();
    let class_names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    out.say(format!(
        "sinew demo: 8x8 digits (UCI, via scikit-learn), {} training and {} test images\n",
        split.train.len(),
        split.test.len()
    ));

    let mut run = RunRecord {
        title: "sinew demo: handwritten digits".into(),
        data: format!(
            "8x8 digits (E. Alpaydin, UCI; the copy scikit-learn ships): {} training and {} test images, stratified split with seed {seed}.",
            split.train.len(),
            split.test.len()
        ),
        models: vec![],
    };
    let mut results = vec![];
    for (name, mut model, xs, xt) in [
        ("MLP", mlp(seed)?, x_train.clone(), x_test.clone()),
        ("CNN", cnn(seed)?, x_train.reshape([split.train.len(), 8, 8, 1]), x_test.reshape([split.test.len(), 8, 8, 1])),
    ] {
        out.say(model.summary()?);
        let mut early = EarlyStopping::new("val_loss").patience(5);
        early.restore_best_weights = true;
        let fit =
            Fit::new().epochs(epochs).batch_size(32).validation_split(0.1).verbose(out.verbose()).callback(&mut early);
        let history = model.fit(&xs, &y_train, fit)?;
        let test = TestSet { x: &xt, y: &y_ids, class_names: &class_names, image: Some((8, 8)) };
        let rec = record(name, &mut model, &history, &test, &y_test)?;
        let acc = rec.metrics.iter().find(|(k, _)| k == "accuracy").map_or(0.0, |m| m.1);
        out.say(format!("{name}: test accuracy {acc:.4}\n{}", rec.classification_report.as_deref().unwrap_or("")));
        let file = out_dir.join(format!("digits_{}.sinew", name.to_ascii_lowercase()));
        std::fs::create_dir_all(out_dir)?;
        model.save(&file)?;
        out.say(format!("saved {}", file.display()));
        results.push((name.to_string(), acc));
        run.models.push(rec);
    }
    write_run(out_dir, &run)?;
    out.say(format!("report: {}", out_dir.join("report.html").display()));
    out.result(&json!({
        "models": results.iter().map(|(n, a)| json!({"name": n, "accuracy": a})).collect::<Vec<_>>(),
        "report": out_dir.join("report.html"),
    }));
    if let Some((name, acc)) = results.iter().find(|(_, a)| *a < TARGET) {
        bail!("the demo's {name} reached {acc:.4} test accuracy, below the expected {TARGET}");
    }
    Ok(results)
}
