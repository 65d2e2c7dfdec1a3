//! The spec's non-tabular sources: a time series (windows of past values predict the next one),
//! an image folder (one sub-folder per class) and a text corpus (one-hot character windows predict
//! the next character). Each becomes a [`Task`], with what `sinew predict` needs saved as the
//! model's preprocessing.

use crate::saved::Saved;
use crate::spec::Spec;
use crate::task::Task;
use anyhow::{bail, Context, Result};
use sinew::data::{collect, image_dataset_from_directory, read_time_series, ImageFolder, MinMaxScaler, TextCorpus};
use sinew::prelude::*;
use std::path::Path;

/// Windows of `window` scaled values and the value that follows each, split in time order (the
/// last `test_size` of the windows are the test set, as forecasting requires). With
/// `test_steps`, the windows whose targets are the last `test_steps` values are the test set,
/// and the task carries the recursive forecast of those values and its seasonal-naive baseline.
pub fn time_series(
    spec: &Spec,
    path: &Path,
    column: &str,
    window: usize,
    test_steps: Option<usize>,
    season: usize,
) -> Result<Task> {
    let ts = read_time_series(path, &[column])?;
    let v = ts.values.to_vec_f32();
    if window == 0 || window >= v.len() {
        bail!("data.window {window} must be between 1 and the series length {}", v.len());
    }
    let n = v.len() - window;
    let n_test = match test_steps {
        Some(k) => k,
        None => ((n as f64) * spec.data.test_size).ceil() as usize,
    };
    if n_test == 0 || n_test >= n {
        match test_steps {
            Some(k) => bail!(
                "data.test_steps {k} leaves no training windows: the series has {} values and each window reads {window}",
                v.len()
            ),
            None => bail!("data.test_size {} leaves no training or test windows of {n}", spec.data.test_size),
        }
    }
    if test_steps.is_some() && season > v.len() - n_test {
        bail!("data.season {season} is longer than the {} training values", v.len() - n_test);
    }
    // Scale with the training part's range only, so the test values stay unseen.
    let split_at = v.len() - n_test;
    let scaler = MinMaxScaler::fit(&Tensor::from_vec(v[..split_at].to_vec(), [split_at, 1]))?;
    let s = scaler.transform(&Tensor::from_vec(v.clone(), [v.len(), 1]))?.to_vec_f32();
    let mut x = Vec::with_capacity(n * window);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        x.extend_from_slice(&s[i..i + window]);
        y.push(s[i + window]);
    }
    let cut = n - n_test;
    let forecast = test_steps.map(|k| {
        let train = &v[..split_at];
        crate::task::Forecast {
            history: Tensor::from_vec(s[..split_at].to_vec(), [split_at, 1]),
            truth: v[split_at..].to_vec(),
            baseline: (0..k).map(|i| train[train.len() - season + i % season]).collect(),
            scaler: scaler.clone(),
        }
    });
    let held_out = match test_steps {
        Some(k) => format!("the last {k} values held out and forecast"),
        None => format!("the last {n_test} for testing"),
    };
    Ok(Task {
        x_train: Tensor::from_vec(x[..cut * window].to_vec(), [cut, window]),
        y_train: vec![],
        x_test: Tensor::from_vec(x[cut * window..].to_vec(), [n_test, window]),
        y_test: vec![],
        class_names: vec![],
        image: None,
        preprocessing: Some(Saved::TimeSeries { column: column.to_string(), window, scaler: scaler.to_json() }),
        values: Some((y[..cut].to_vec(), y[cut..].to_vec())),
        forecast,
        target_steps: None,
        more: vec![],
        description: format!(
            "{} column {column:?}: {n} windows of {window} steps, {held_out} (values scaled to [0, 1] with the training part's range)",
            path.display(),
        ),
    })
}

/// Every image of a class-per-folder tree, scaled to [0, 1] and flattened, split by `seed`.
pub fn image_folder(spec: &Spec, dir: &Path, size: (usize, usize), channels: usize) -> Result<Task> {
    let split = |subset| ImageFolder {
        image_size: size,
        channels,
        batch_size: 256,
        shuffle: false,
        seed: spec.seed,
        validation_split: Some((spec.data.test_size, subset)),
    };
    let load = |subset| -> Result<(Tensor, Vec<usize>, Vec<String>)> {
        let ds = image_dataset_from_directory(dir, &split(subset))?;
        let batches = collect(&ds.dataset)?;
        let xs: Vec<&Tensor> = batches.iter().map(|b| &b.x[0]).collect();
        let x = Tensor::concat(&xs, 0);
        let y: Vec<usize> = batches.iter().flat_map(|b| b.y[0].to_vec_f32()).map(|v| v as usize).collect();
        let n = y.len();
        Ok((x.reshape([n, size.0 * size.1 * channels]).mul_scalar(1.0 / 255.0), y, ds.class_names))
    };
    let (x_train, y_train, class_names) = load(sinew::data::Subset::Training)?;
    let (x_test, y_test, _) = load(sinew::data::Subset::Validation)?;
    Ok(Task {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: class_names.clone(),
        image: (channels == 1).then_some(size),
        preprocessing: Some(Saved::Image { height: size.0, width: size.1, channels, classes: class_names.clone() }),
        values: None,
        forecast: None,
        target_steps: None,
        more: vec![],
        description: format!("images in {} ({}x{}, {channels} channel(s))", dir.display(), size.0, size.1),
    })
}

/// The first `max_chars` characters of the corpus at `path`, over the whole file's vocabulary.
fn first_chars(path: &Path, max_chars: usize) -> Result<TextCorpus> {
    let full = TextCorpus::load(path)?;
    let text: String = full.text.chars().take(max_chars).collect();
    Ok(TextCorpus { text, vocab: full.vocab })
}

/// One-hot windows of `seq_len` characters (flattened) and the id of the character after each,
/// from the first `max_chars` characters; the last `test_size` of the windows are the test set.
pub fn text(spec: &Spec, path: &Path, seq_len: usize, step: usize, max_chars: usize) -> Result<Task> {
    let corpus = first_chars(path, max_chars)?;
    let (x, y) = corpus.next_char_windows(seq_len, step).context("data.seq_len")?;
    let (n, v) = (y.dims()[0], corpus.vocab_size());
    let ids = x.to_vec_f32();
    let mut onehot = vec![0f32; n * seq_len * v];
    for (k, &id) in ids.iter().enumerate() {
        onehot[k * v + id as usize] = 1.0;
    }
    let y: Vec<usize> = y.to_vec_f32().iter().map(|&c| c as usize).collect();
    let n_test = ((n as f64) * spec.data.test_size).ceil() as usize;
    let cut = n.saturating_sub(n_test).max(1);
    let width = seq_len * v;
    let names: Vec<String> = corpus.vocab.iter().map(|c| format!("{c:?}")).collect();
    Ok(Task {
        x_train: Tensor::from_vec(onehot[..cut * width].to_vec(), [cut, width]),
        y_train: y[..cut].to_vec(),
        x_test: Tensor::from_vec(onehot[cut * width..].to_vec(), [n - cut, width]),
        y_test: y[cut..].to_vec(),
        class_names: names,
        image: None,
        preprocessing: Some(Saved::Text {
            seq_len,
            vocab: corpus.vocab.iter().map(|c| c.to_string()).collect(),
            shifted: false,
        }),
        values: None,
        forecast: None,
        target_steps: None,
        more: vec![],
        description: format!("{}: {} windows of {seq_len} characters over a vocabulary of {v}", path.display(), n),
    })
}

/// Sequences of `seq_len` character ids, each predicting itself shifted by one (the targets
/// are `[n, seq_len]` ids), from the first `max_chars` characters; the last `test_size` of the
/// text is the test set (validated on, as the notes' model is).
pub fn shifted_text(spec: &Spec, path: &Path, seq_len: usize, step: usize, max_chars: usize) -> Result<Task> {
    let corpus = first_chars(path, max_chars)?;
    let (train, test) = corpus.split(1.0 - spec.data.test_size);
    // Training windows start every `step` characters; the test text is cut into
    // non-overlapping sequences, so its loss counts each character once.
    let pairs = |c: &TextCorpus, stride: usize, what: &str| -> Result<(Tensor, Vec<usize>)> {
        let (x, y) = c.shifted_windows(seq_len, stride).with_context(|| format!("data.seq_len, on the {what} text"))?;
        Ok((x, y.to_vec_f32().iter().map(|&i| i as usize).collect()))
    };
    let (x_train, y_train) = pairs(&train, step, "training")?;
    let (x_test, y_test) = pairs(&test, seq_len + 1, "test")?;
    // The characters themselves: the generated samples decode through them.
    let names: Vec<String> = corpus.vocab.iter().map(|c| c.to_string()).collect();
    let v = corpus.vocab_size();
    let description = format!(
        "{}: {} training sequences of {seq_len} characters (one every {step}) and {} test ones (the last {:.0}% of the text), each predicting itself shifted by one, over a vocabulary of {v}",
        path.display(),
        x_train.dims()[0],
        x_test.dims()[0],
        spec.data.test_size * 100.0
    );
    Ok(Task {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: names,
        image: None,
        preprocessing: Some(Saved::Text {
            seq_len,
            vocab: corpus.vocab.iter().map(|c| c.to_string()).collect(),
            shifted: true,
        }),
        values: None,
        forecast: None,
        target_steps: Some(seq_len),
        more: vec![],
        description,
    })
}

/// Samples `length` characters after `seed` from a next-character model over one-hot windows,
/// with `temperature` (the Keras text-generation example's `sample`): low values pick the
/// likeliest character, high values flatten the distribution. `shape` is the model's per-sample
/// input shape.
#[allow(clippy::too_many_arguments)]
pub fn generate(
    model: &mut Model,
    shape: &[usize],
    vocab: &[char],
    seq_len: usize,
    seed: &str,
    length: usize,
    temperature: f64,
    rng: &mut Rng,
) -> Result<String> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        bail!("--temperature must be positive, got {temperature}");
    }
    let corpus = TextCorpus { text: String::new(), vocab: vocab.to_vec() };
    let mut ids = corpus.encode(seed).context("the seed text")?;
    if ids.len() < seq_len {
        bail!("the seed text has {} characters; the model reads {seq_len}", ids.len());
    }
    let v = vocab.len();
    let mut out = String::new();
    for _ in 0..length {
        let mut x = vec![0f32; seq_len * v];
        for (k, &id) in ids[ids.len() - seq_len..].iter().enumerate() {
            x[k * v + id] = 1.0;
        }
        let mut dims = vec![1];
        dims.extend(shape);
        let p = model.predict(Tensor::from_vec(x, dims), 1)?.to_vec_f32();
        // The model ends in softmax: log-probabilities are logits up to a constant.
        let logits: Vec<f32> = p.iter().map(|&q| q.max(1e-12).ln()).collect();
        let next = sinew::train::sample_with_temperature(&logits, temperature, rng);
        ids.push(next);
        out.push(vocab[next]);
    }
    Ok(out)
}

/// Samples `length` characters after `seed` from a model trained on shifted sequences: a
/// stateful copy reads the seed and then its own samples one character at a time
/// (`Model::stepper`, `Model::generate`).
pub fn generate_stepped(
    model: &Model,
    vocab: &[char],
    seed: &str,
    length: usize,
    temperature: f64,
    rng: &mut Rng,
) -> Result<String> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        bail!("--temperature must be positive, got {temperature}");
    }
    let corpus = TextCorpus { text: String::new(), vocab: vocab.to_vec() };
    let ids = corpus.encode(seed).context("the seed text")?;
    let out = model.stepper()?.generate(&ids, length, temperature, rng)?;
    Ok(corpus.decode(&out)?)
}
