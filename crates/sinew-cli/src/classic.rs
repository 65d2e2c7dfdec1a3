//! `sinew train` for the classic models (`model.type = "som"`, `"rbm"` or `"word2vec"`, parsed
//! by `classic_spec`): the run directory gets the report (and `run.json`), and word2vec its
//! vectors in the text format gensim opens (`vectors.txt`).

use crate::output::Out;
use crate::run::write_run;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use sinew::classic::{simple_words, Dbn, Rbm, RbmOptions, Som, SomOptions, VisibleUnits, Word2Vec, Word2VecOptions};
use sinew::report::{ImageRows, ModelRecord, RunRecord};
use sinew::tensor::Tensor;
use sinew_cli::classic_spec::{ClassicModel, Pretrain};
use sinew_cli::spec::{ModelKind, Source, Spec};

/// Trains a classic spec and writes its run directory; returns its metrics.
pub fn train(spec: Spec, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let ModelKind::Classic(model) = &spec.kind else { unreachable!("a classic spec") };
    let epochs = epochs_override.unwrap_or(spec.fit.epochs);
    let (record, data) = match model {
        ClassicModel::Word2Vec { options, neighbours } => word2vec(&spec, options.clone(), neighbours, epochs, &out)?,
        ClassicModel::Som { x, y, options, batch } => som(&spec, (*x, *y), options.clone(), *batch, epochs, &out)?,
        ClassicModel::Rbm { options } => rbm(&spec, options.clone(), epochs, &out)?,
    };
    let metrics = record.metrics.clone();
    let run = RunRecord { title: format!("sinew train: {}", spec.name), data, models: vec![record] };
    write_run(&spec.output_dir, &run)?;
    out.say(format!("report: {}", spec.output_dir.join("report.html").display()));
    out.result(&json!({
        "name": spec.name, "epochs": epochs,
        "metrics": metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "report": spec.output_dir.join("report.html"),
    }));
    Ok(metrics)
}

fn word2vec(
    spec: &Spec,
    options: Word2VecOptions,
    neighbours: &[String],
    epochs: usize,
    out: &Out,
) -> Result<(ModelRecord, String)> {
    let Source::Text { path, .. } = &spec.data.source else {
        bail!("{}: model.type = \"word2vec\" trains on a text source (data.source = \"text\")", spec.path.display());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("data.path {}", path.display()))?;
    let sentences = simple_words(&text);
    let words: usize = sentences.iter().map(Vec::len).sum();
    let model = Word2Vec::build(&sentences, options.epochs(epochs).seed(spec.seed))
        .map_err(|e| anyhow!("{}: {e}", spec.path.display()))?;
    let description = format!("{}: {words} words in {} lines", path.display(), sentences.len());
    out.say(format!("{}: {description}, vocabulary {}", spec.name, model.wv().len()));
    let mut model = model;
    let rate = model.train(&sentences).map_err(|e| anyhow!("{e}"))?;
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let vectors = spec.output_dir.join("vectors.txt");
    model.wv().save_word2vec_format(&vectors)?;
    let mut generated = vec![];
    for w in neighbours {
        let near = model
            .wv()
            .most_similar(&[w.as_str()], &[], 10)
            .map_err(|e| anyhow!("{}: model.neighbours: {e}", spec.path.display()))?;
        let list: Vec<String> = near.iter().map(|(n, s)| format!("{n} ({s:.2})")).collect();
        out.say(format!("  {w}: {}", list.join(", ")));
        generated.push((format!("nearest to {w:?}"), list.join(", ")));
    }
    out.say(format!("vectors: {}", vectors.display()));
    let o = model.options();
    let summary = format!(
        "word2vec ({:?}): {} dimensions, window {}, min_count {}, {} negatives, {} epochs{}; vocabulary {}",
        o.architecture,
        o.vector_size,
        o.window,
        o.min_count,
        o.negative,
        o.epochs,
        o.subwords
            .as_ref()
            .map_or(String::new(), |s| format!(", subwords {}-{} in {} buckets", s.min_n, s.max_n, s.buckets)),
        model.wv().len()
    );
    let metrics = vec![
        ("vocabulary".to_string(), model.wv().len() as f64),
        ("words".into(), words as f64),
        ("words_per_s".into(), rate),
    ];
    Ok((ModelRecord { name: spec.name.clone(), summary, metrics, generated, ..Default::default() }, description))
}

/// A `rows x cols` grid of `values`, scaled to [0, 1] by the largest, as a grey image with each
/// cell drawn `k x k` pixels.
fn grey(values: &[f64], cols: usize, k: usize) -> Vec<f32> {
    let max = values.iter().cloned().fold(f64::MIN_POSITIVE, f64::max);
    let rows = values.len() / cols.max(1);
    let mut img = Vec::with_capacity(values.len() * k * k);
    for r in 0..rows * k {
        for c in 0..cols * k {
            img.push((values[(r / k) * cols + c / k] / max) as f32);
        }
    }
    img
}

fn som(
    spec: &Spec,
    (gx, gy): (usize, usize),
    options: SomOptions,
    batch: bool,
    epochs: usize,
    out: &Out,
) -> Result<(ModelRecord, String)> {
    let (task, x, xt) = flat_task(spec, out)?;
    let (n, dim) = (x.dims()[0], x.dims()[1]);
    let err = |e: sinew::data::Error| anyhow!("{}: {e}", spec.path.display());
    let mut map = Som::new(gx, gy, dim, options.clone().seed(spec.seed)).map_err(err)?;
    map.random_weights_init(&x).map_err(err)?;
    if batch {
        map.train_batch(&x, epochs).map_err(err)?;
    } else {
        map.train(&x, epochs * n, true).map_err(err)?;
    }
    let mut metrics = vec![("quantization_error".to_string(), map.quantization_error(&xt).map_err(err)?)];
    if gx * gy > 1 {
        metrics.push(("topographic_error".into(), map.topographic_error(&xt).map_err(err)?));
    }
    // Each neuron labelled with the majority class of the training samples it wins; a test sample
    // is right when its winner's label is its class.
    let winners = |t: &Tensor| -> Result<Vec<usize>> {
        t.to_vec_f32().chunks(dim).map(|r| map.winner(r).map(|(i, j)| i * gy + j).map_err(err)).collect()
    };
    let won = winners(&x)?;
    if !task.class_names.is_empty() && !task.y_train.is_empty() {
        let classes = task.class_names.len();
        let mut votes = vec![vec![0usize; classes]; gx * gy];
        for (&w, &c) in won.iter().zip(&task.y_train) {
            votes[w][c.min(classes - 1)] += 1;
        }
        let label = |w: usize| (0..classes).max_by_key(|&c| (votes[w][c], std::cmp::Reverse(c)));
        let right = winners(&xt)?.iter().zip(&task.y_test).filter(|(&w, &c)| label(w) == Some(c)).count();
        metrics.push(("winner_label_accuracy".into(), right as f64 / task.y_test.len().max(1) as f64));
    }
    for (k, v) in &metrics {
        out.say(format!("{k}: {v:.4}"));
    }
    // The training samples each neuron wins, from the winners found above.
    let mut hits = vec![0.0f64; gx * gy];
    won.iter().for_each(|&w| hits[w] += 1.0);
    // Each cell drawn as a block, so a small map is still large enough to read.
    let k = (96 / gx.max(gy)).max(1);
    let mut images = vec![ImageRows {
        title: "U-matrix (left; dark: far from the neighbours) and training samples won per neuron (right; dark: many)"
            .into(),
        height: gx * k,
        width: gy * k,
        rows: vec![("map".into(), vec![grey(&map.distance_map(true), gy, k), grey(&hits, gy, k)])],
    }];
    if let Some((h, w)) = task.image {
        let weights = map.weights().to_vec_f32();
        images.push(ImageRows {
            title: "Each neuron's weights, a row of the map per row".into(),
            height: h,
            width: w,
            rows: weights
                .chunks(gy * dim)
                .enumerate()
                .map(|(i, r)| (format!("row {i}"), r.chunks(dim).map(<[f32]>::to_vec).collect()))
                .collect(),
        });
    }
    let summary = format!(
        "Self-organizing map {gx}x{gy} ({:?}, {:?} neighbourhood), sigma {}, {} over {dim} inputs, {epochs} epochs",
        options.topology,
        options.neighborhood,
        options.sigma,
        if batch {
            "batch training".to_string()
        } else {
            format!("online training, learning rate {}", options.learning_rate)
        }
    );
    Ok((ModelRecord { name: spec.name.clone(), summary, metrics, images, ..Default::default() }, task.description))
}

/// The spec's data, each sample flattened to one row: the task, its training and test rows.
fn flat_task(spec: &Spec, out: &Out) -> Result<(crate::task::Task, Tensor, Tensor)> {
    let task = crate::train::load_task(spec)?;
    out.say(format!("{}: {}", spec.name, task.description));
    let flat = |t: &Tensor| {
        let n = t.dims()[0];
        t.reshape([n, t.numel() / n.max(1)])
    };
    let (x, xt) = (flat(&task.x_train), flat(&task.x_test));
    Ok((task, x, xt))
}

/// An RBM's error about its input, naming the spec, with the scaling that fixes a value outside
/// [0, 1].
fn scale_hint(spec: &Spec, what: &str, e: sinew::data::Error) -> anyhow::Error {
    let scale =
        if e.to_string().contains("[0, 1]") { " (data.scale = \"minmax\" maps features into [0, 1])" } else { "" };
    anyhow!("{}: {what}{e}{scale}", spec.path.display())
}

fn rbm(spec: &Spec, options: RbmOptions, epochs: usize, out: &Out) -> Result<(ModelRecord, String)> {
    let (task, x, xt) = flat_task(spec, out)?;
    let dim = x.dims()[1];
    let hint = |e: sinew::data::Error| scale_hint(spec, "", e);
    let options = options.batch_size(spec.fit.batch_size).seed(spec.seed);
    let bernoulli = options.visible_units == VisibleUnits::Bernoulli;
    let mut model = Rbm::new(dim, options).map_err(hint)?;
    let (mut pll, mut rec) = (vec![], vec![]);
    for _ in 0..epochs {
        let e = model.fit_epoch(&x).map_err(hint)?;
        let p = e.pseudo_log_likelihood.map_or(String::new(), |p| format!("pseudo-log-likelihood {p:.3}, "));
        out.say(format!(
            "epoch {}/{epochs}: {p}reconstruction error {:.4} ({:.1} s)",
            e.epoch, e.reconstruction_error, e.seconds
        ));
        pll.extend(e.pseudo_log_likelihood);
        rec.push(e.reconstruction_error);
    }
    let mut metrics = vec![("reconstruction_error".to_string(), model.reconstruction_error(&xt).map_err(hint)?)];
    if bernoulli {
        metrics.push(("pseudo_log_likelihood".into(), model.pseudo_log_likelihood(&xt).map_err(hint)?));
    }
    let mut history = vec![("reconstruction_error".to_string(), rec)];
    if bernoulli {
        history.insert(0, ("pseudo_log_likelihood".into(), pll));
    }
    let mut images = vec![];
    if let Some((h, w)) = task.image {
        // The first 50 hidden units' weights, each scaled to [0, 1] on its own.
        let filters: Vec<Vec<f32>> = model
            .weights()
            .to_vec_f32()
            .chunks(dim)
            .take(50)
            .map(|f| {
                let (lo, hi) = f.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
                f.iter().map(|&v| (v - lo) / (hi - lo).max(1e-8)).collect()
            })
            .collect();
        images.push(ImageRows {
            title: "Filters: the first 50 hidden units' weights".into(),
            height: h,
            width: w,
            rows: filters
                .chunks(10)
                .enumerate()
                .map(|(i, r)| (format!("units {}-{}", 10 * i, 10 * i + r.len() - 1), r.to_vec()))
                .collect(),
        });
        if bernoulli {
            // 10 chains from test samples, a row of visible means every 100 Gibbs steps.
            let chains = 10.min(xt.dims()[0]);
            let mut v = xt.narrow(0, 0, chains);
            let mut rows = vec![];
            for r in 1..=5 {
                v = model.gibbs(&v, 100).map_err(hint)?;
                let means = model.visible_mean(&model.transform(&v).map_err(hint)?).map_err(hint)?.to_vec_f32();
                rows.push((format!("step {}", 100 * r), means.chunks(dim).map(<[f32]>::to_vec).collect()));
            }
            images.push(ImageRows {
                title: "Samples: 10 Gibbs chains started from test images".into(),
                height: h,
                width: w,
                rows,
            });
        }
    }
    for (k, v) in &metrics {
        out.say(format!("test {k}: {v:.4}"));
    }
    let o = model.options();
    let summary = format!(
        "RBM {dim} -> {} ({:?} visible units), {}-{}, learning rate {}, batch {}, momentum {}, weight decay {}",
        o.hidden,
        o.visible_units,
        if o.persistent { "PCD" } else { "CD" },
        o.k,
        o.learning_rate,
        o.batch_size,
        o.momentum,
        o.weight_decay
    );
    Ok((
        ModelRecord { name: spec.name.clone(), summary, history, metrics, images, ..Default::default() },
        task.description,
    ))
}

/// `[pretrain]`: pretrains the model's leading sigmoid `Dense` layers greedily as a stack of RBMs
/// on `x` (a deep belief network) and writes their weights into the layers, before `fit`.
pub fn pretrain(spec: &Spec, model: &mut sinew::prelude::Model, x: &Tensor, p: &Pretrain, out: &Out) -> Result<()> {
    let path = spec.path.display();
    let layers = model.layers();
    let n = p.layers.unwrap_or(layers.len().saturating_sub(1));
    if n == 0 || n > layers.len() {
        bail!("{path}: pretrain.layers is {n}, the model has {} layers", layers.len());
    }
    let mut units = vec![];
    for l in &layers[..n] {
        let c = l.config();
        if c["class_name"] != "Dense" || c["activation"] != "sigmoid" {
            bail!(
                "{path}: pretrain: layer {:?} is a {} with activation {}; a deep belief network pretrains sigmoid Dense layers",
                l.name(),
                c["class_name"],
                c["activation"]
            );
        }
        units.push(c["units"].as_u64().unwrap_or(0) as usize);
    }
    let x = x.reshape([x.dims()[0], x.numel() / x.dims()[0].max(1)]);
    let mut dbn = Dbn::new(x.dims()[1], &units, p.options.clone().seed(spec.seed))
        .map_err(|e| anyhow!("{path}: pretrain: {e}"))?;
    dbn.pretrain(&x, p.epochs, |layer, e| {
        out.say(format!(
            "pretraining layer {} epoch {}/{}: pseudo-log-likelihood {:.3}, reconstruction error {:.4} ({:.1} s)",
            layer + 1,
            e.epoch,
            p.epochs,
            e.pseudo_log_likelihood.unwrap_or(f64::NAN),
            e.reconstruction_error,
            e.seconds
        ))
    })
    .map_err(|e| scale_hint(spec, "pretrain: ", e))?;
    let mut weights = model.get_weights();
    for (i, rbm) in dbn.rbms().iter().enumerate() {
        weights[2 * i] = rbm.weights().t();
        weights[2 * i + 1] = rbm.hidden_bias();
    }
    model.set_weights(&weights).with_context(|| format!("{path}: pretrain"))?;
    Ok(())
}
