//! The training loop behind `Model::fit`, with Keras `fit` arguments and defaults.

use crate::callbacks::{Callback, Logs};
use crate::data::Tensors;
use crate::error::{Error, Result};
use crate::history::History;
use crate::metrics::update_outputs;
use crate::model::{batch_logs, Model};
use crate::progress::Progress;
use sinew_tensor::{no_grad, Tensor};
use std::collections::HashMap;

/// Arguments of `fit`, with Keras defaults (`batch_size` 32, `epochs` 1, `verbose` 1,
/// `shuffle` true, no validation).
pub struct Fit<'a> {
    pub batch_size: usize,
    pub epochs: usize,
    /// 0 silent, 1 progress bar (one line per epoch when stderr is not a terminal), 2 one line per epoch.
    pub verbose: u8,
    /// Fraction of the samples, taken from the end before shuffling, held out for validation.
    pub validation_split: f64,
    pub validation_data: Option<(Tensors, Tensors)>,
    pub shuffle: bool,
    /// Loss weight per class id (sparse labels, or the argmax of one-hot labels) of the first
    /// output.
    pub class_weight: Option<HashMap<usize, f64>>,
    /// Loss weight per training sample, `[n]`.
    pub sample_weight: Option<&'a Tensor>,
    pub initial_epoch: usize,
    pub callbacks: Vec<&'a mut dyn Callback>,
    /// A custom training step (Keras: overriding `train_step`): given the model and a batch, it
    /// updates the model and returns the batch loss. Metrics are not updated for custom steps.
    pub train_step: Option<TrainStep<'a>>,
}

/// A custom training step: `(model, x_batch, y_batch) -> batch loss`. It gets the first input
/// and first target of the batch (custom steps are for one-input models: GANs, VAEs).
pub type TrainStep<'a> = Box<dyn FnMut(&mut Model, &Tensor, &Tensor) -> Result<f64> + 'a>;

impl Default for Fit<'_> {
    fn default() -> Self {
        Fit {
            batch_size: 32,
            epochs: 1,
            verbose: 1,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            class_weight: None,
            sample_weight: None,
            initial_epoch: 0,
            callbacks: vec![],
            train_step: None,
        }
    }
}

impl<'a> Fit<'a> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn epochs(mut self, e: usize) -> Self {
        self.epochs = e;
        self
    }
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    pub fn validation_split(mut self, s: f64) -> Self {
        self.validation_split = s;
        self
    }
    pub fn validation_data(mut self, x: impl Into<Tensors>, y: impl Into<Tensors>) -> Self {
        self.validation_data = Some((x.into(), y.into()));
        self
    }
    pub fn shuffle(mut self, s: bool) -> Self {
        self.shuffle = s;
        self
    }
    pub fn class_weight(mut self, w: HashMap<usize, f64>) -> Self {
        self.class_weight = Some(w);
        self
    }
    pub fn sample_weight(mut self, w: &'a Tensor) -> Self {
        self.sample_weight = Some(w);
        self
    }
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }
    /// Replaces the built-in step with `f` (GANs, VAEs, anything with its own loss).
    pub fn train_step(mut self, f: impl FnMut(&mut Model, &Tensor, &Tensor) -> Result<f64> + 'a) -> Self {
        self.train_step = Some(Box::new(f));
        self
    }
    pub fn callback(mut self, c: &'a mut dyn Callback) -> Self {
        self.callbacks.push(c);
        self
    }
}

/// Class id of every sample: the value itself for `[n]`/`[n, 1]` labels, else the row argmax.
fn label_ids(y: &Tensor) -> Vec<usize> {
    let n = y.dims()[0];
    let c = y.numel() / n.max(1);
    let v = y.to_vec_f32();
    if c == 1 {
        return v.iter().map(|&l| l.max(0.0) as usize).collect();
    }
    v.chunks(c)
        .map(|r| r.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0)
        .collect()
}

pub(crate) fn fit(model: &mut Model, x: &Tensors, y: &Tensors, mut o: Fit<'_>) -> Result<History> {
    model.compiled("fit")?;
    model.check_data("fit", x, Some(y))?;
    if o.batch_size == 0 {
        return Err(Error::new("fit: batch_size must be a positive integer, got 0"));
    }
    if !(0.0..1.0).contains(&o.validation_split) {
        return Err(Error::new(format!("fit: validation_split must be in [0, 1), got {}", o.validation_split)));
    }
    let n = x.samples();
    // Keras: the validation samples are the last ones, taken before shuffling.
    let split_at = ((n as f64) * (1.0 - o.validation_split)).ceil() as usize;
    let held_out = (o.validation_split > 0.0 && o.validation_data.is_none())
        .then(|| (x.rows(split_at, n - split_at), y.rows(split_at, n - split_at)));
    let (xt, yt) = if held_out.is_some() { (x.rows(0, split_at), y.rows(0, split_at)) } else { (x.clone(), y.clone()) };
    let val = match (o.validation_data.take(), held_out) {
        (Some((vx, vy)), _) => {
            model.check_data("fit (validation_data)", &vx, Some(&vy))?;
            Some((vx, vy))
        }
        (None, h) => h,
    };
    let nt = xt.samples();
    if nt == 0 {
        return Err(Error::data("fit: no training samples left after the validation split"));
    }
    let weights = sample_weights(&o, &yt.0[0], nt)?;
    let names = model.output_names();

    let mut history = History::default();
    let mut progress = Progress::new(o.verbose);
    let steps = nt.div_ceil(o.batch_size);
    let mut start = o.initial_epoch;
    {
        let mut c = model.control();
        o.callbacks.iter_mut().for_each(|cb| cb.on_train_begin(&mut c));
        if let Some(e) = c.resume_epoch {
            start = start.max(e);
        }
        if c.stop_training {
            return Err(Error::state("fit: a callback stopped training before it began"));
        }
    }
    let mut order: Vec<usize> = (0..nt).collect();
    let mut last_logs = Logs::default();
    for epoch in start..o.epochs {
        {
            let mut c = model.control();
            o.callbacks.iter_mut().for_each(|cb| cb.on_epoch_begin(epoch, &mut c));
        }
        if o.shuffle {
            model.rng.shuffle(&mut order);
        }
        progress.epoch_begin(epoch, o.epochs, steps);
        model.compiled.as_mut().expect("compiled").metrics.iter_mut().flatten().for_each(|m| m.reset());
        let (mut loss_sum, mut parts_sum, mut seen) = (0.0, vec![0.0; names.len()], 0usize);
        let mut stop = false;
        for (b, idx) in order.chunks(o.batch_size).enumerate() {
            {
                let mut ctl = model.control();
                o.callbacks.iter_mut().for_each(|cb| cb.on_train_batch_begin(b, &mut ctl));
            }
            let (xb, yb) = (xt.select(idx), yt.select(idx));
            let wb = weights.as_ref().map(|w| Tensor::from_vec(idx.iter().map(|&i| w[i]).collect(), [idx.len()]));
            let (loss, parts) = match o.train_step.as_mut() {
                Some(step) => (step(model, &xb.0[0], &yb.0[0])?, vec![]),
                None => {
                    let (loss, parts, pred) = model.step(&xb, &yb, wb.as_ref());
                    update_outputs(&mut model.compiled.as_mut().expect("compiled").metrics, &yb, &pred);
                    (loss, parts)
                }
            };
            loss_sum += loss * idx.len() as f64;
            parts_sum.iter_mut().zip(&parts).for_each(|(s, p)| *s += p * idx.len() as f64);
            seen += idx.len();
            let c = model.compiled.as_mut().expect("compiled");
            let means: Vec<f64> = parts_sum.iter().map(|s| s / seen as f64).collect();
            let logs = batch_logs(loss_sum / seen as f64, &means, &names, &c.metrics, "");
            progress.batch_end(b + 1, &logs);
            let mut ctl = model.control();
            for cb in o.callbacks.iter_mut() {
                cb.on_train_batch_end(b, &logs, &mut ctl);
            }
            if ctl.stop_training {
                stop = true;
                break;
            }
            last_logs = logs;
        }
        if let Some((vx, vy)) = &val {
            for (k, v) in evaluate_batches(model, vx, vy, o.batch_size, true).0 {
                last_logs.set(&k, v);
            }
        }
        progress.epoch_end(&last_logs);
        history.push(epoch, &last_logs);
        let mut ctl = model.control();
        for cb in o.callbacks.iter_mut() {
            cb.on_epoch_end(epoch, &last_logs, &mut ctl);
        }
        if stop || ctl.stop_training {
            break;
        }
    }
    let mut c = model.control();
    o.callbacks.iter_mut().for_each(|cb| cb.on_train_end(&last_logs, &mut c));
    Ok(history)
}

/// Per-sample loss weights from `class_weight` and `sample_weight`, multiplied, or `None`.
fn sample_weights(o: &Fit<'_>, y: &Tensor, n: usize) -> Result<Option<Vec<f32>>> {
    if o.class_weight.is_none() && o.sample_weight.is_none() {
        return Ok(None);
    }
    let mut w = vec![1f32; n];
    if let Some(sw) = o.sample_weight {
        if sw.numel() < n {
            return Err(Error::data(format!("fit: sample_weight has {} values for {n} training samples", sw.numel())));
        }
        w.iter_mut().zip(sw.to_vec_f32()).for_each(|(w, s)| *w *= s);
    }
    if let Some(cw) = &o.class_weight {
        for (w, id) in w.iter_mut().zip(label_ids(y)) {
            *w *= *cw.get(&id).unwrap_or(&1.0) as f32;
        }
    }
    Ok(Some(w))
}

/// Loss and metrics over `x` in inference mode, batch by batch; `val` prefixes names with `val_`.
pub(crate) fn evaluate_batches(model: &mut Model, x: &Tensors, y: &Tensors, batch_size: usize, val: bool) -> Logs {
    no_grad(|| {
        let n = x.samples();
        let names = model.output_names();
        let c = model.compiled.as_mut().expect("compiled");
        let metrics = if val { &mut c.val_metrics } else { &mut c.metrics };
        metrics.iter_mut().flatten().for_each(|m| m.reset());
        let (mut sum, mut parts_sum) = (0.0, vec![0.0; names.len()]);
        for s in (0..n).step_by(batch_size) {
            let len = batch_size.min(n - s);
            let (xb, yb) = (x.rows(s, len), y.rows(s, len));
            let (loss, parts, pred) = model.loss_and_pred(&xb, &yb, None, false);
            sum += loss.item() * len as f64;
            parts_sum.iter_mut().zip(&parts).for_each(|(s, p)| *s += p * len as f64);
            let c = model.compiled.as_mut().expect("compiled");
            update_outputs(if val { &mut c.val_metrics } else { &mut c.metrics }, &yb, &pred);
        }
        let d = n.max(1) as f64;
        let means: Vec<f64> = parts_sum.iter().map(|s| s / d).collect();
        let c = model.compiled.as_mut().expect("compiled");
        let metrics = if val { &c.val_metrics } else { &c.metrics };
        batch_logs(sum / d, &means, &names, metrics, if val { "val_" } else { "" })
    })
}
