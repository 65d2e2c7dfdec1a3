//! The training loop behind `Model::fit`, with Keras `fit` arguments and defaults.

use crate::callbacks::Callback;
use crate::data::Tensors;
use crate::error::{Error, Result};
use crate::history::History;
use crate::logs::{batch_logs, Logs};
use crate::metrics::update_outputs;
use crate::model::Model;
use crate::progress::Progress;
use sinew_data::{Cardinality, Dataset};
use sinew_nn::Param;
use sinew_tensor::{no_grad, Rng, Tensor};
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
    /// Validation batches from a pipeline (Keras `validation_data=dataset`).
    pub validation_dataset: Option<&'a Dataset>,
    /// Batches per epoch when training from a [`Dataset`]; needed for an infinite (repeated) one.
    /// The pass continues across epochs, as in Keras.
    pub steps_per_epoch: Option<usize>,
    pub shuffle: bool,
    /// Loss weight per class id (sparse labels, or the argmax of one-hot labels) of the first
    /// output.
    pub class_weight: Option<HashMap<usize, f64>>,
    /// Loss weight per training sample, `[n]`.
    pub sample_weight: Option<&'a Tensor>,
    pub initial_epoch: usize,
    /// Stop after the batch that takes the fit past this wall-clock time (the epoch's
    /// validation still runs), so models can be compared at equal time.
    pub time_limit: Option<std::time::Duration>,
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
            validation_dataset: None,
            steps_per_epoch: None,
            shuffle: true,
            class_weight: None,
            sample_weight: None,
            initial_epoch: 0,
            time_limit: None,
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
    pub fn validation_dataset(mut self, d: &'a Dataset) -> Self {
        self.validation_dataset = Some(d);
        self
    }
    pub fn steps_per_epoch(mut self, s: usize) -> Self {
        self.steps_per_epoch = Some(s);
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
    /// Stops training after the batch that passes `limit` of wall-clock time since the fit began.
    pub fn time_limit(mut self, limit: std::time::Duration) -> Self {
        self.time_limit = Some(limit);
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
    let source = Source::Tensors { x: xt, y: yt, weights, order: (0..nt).collect(), batch_size: o.batch_size };
    let val = val.map(|(x, y)| Val::Tensors(x, y));
    train_loop(model, source, val, o)
}

impl Model {
    /// Builds a deferred Sequential model from the first element of `ds` (see `build_for`).
    fn build_for_dataset(&mut self, ds: &Dataset) -> Result<()> {
        if self.deferred() {
            if let Some(first) = ds.first() {
                return self.build_for(&Tensors(first?.x));
            }
        }
        self.build()
    }

    /// Keras `fit(dataset)`: trains on a [`sinew_data::Dataset`] whose elements are batches
    /// (`Dataset::batch`). Validation comes from `Fit::validation_dataset` (or
    /// `validation_data`); an infinite dataset needs `Fit::steps_per_epoch`.
    pub fn fit_dataset(&mut self, ds: &sinew_data::Dataset, opts: Fit<'_>) -> Result<History> {
        fit_dataset(self, ds, opts)
    }

    /// Keras `evaluate(dataset)`: loss and metrics over every batch of a finite dataset.
    pub fn evaluate_dataset(&mut self, ds: &sinew_data::Dataset) -> Result<Logs> {
        self.build_for_dataset(ds)?;
        self.compiled("evaluate")?;
        evaluate_dataset(self, ds, false)
    }

    /// Keras `predict(dataset)` for a one-output model: the outputs for every batch's `x`, in
    /// order (targets, if the elements have them, are ignored).
    pub fn predict_dataset(&mut self, ds: &sinew_data::Dataset) -> Result<Tensor> {
        if ds.cardinality() == sinew_data::Cardinality::Infinite {
            return Err(Error::data("predict (dataset): the dataset is infinite (repeat()); take() a finite part"));
        }
        let mut parts = vec![];
        for e in ds.iter() {
            let e = e?;
            let n = e.x.first().map_or(0, |t| t.dims().first().copied().unwrap_or(0));
            parts.push(self.predict(Tensors(e.x), n.max(1))?);
        }
        if parts.is_empty() {
            return Err(Error::data("predict (dataset): the dataset is empty"));
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        Ok(Tensor::concat(&refs, 0))
    }
}

/// Keras `fit(dataset)`: every element of `ds` is one batch (batch it first). Validation comes
/// from `o.validation_dataset` or `o.validation_data`; `batch_size`, `shuffle`, the splits and
/// the weights belong to tensor input and are rejected here.
pub(crate) fn fit_dataset(model: &mut Model, ds: &Dataset, mut o: Fit<'_>) -> Result<History> {
    model.build_for_dataset(ds)?;
    model.compiled("fit")?;
    if o.validation_split > 0.0 || o.sample_weight.is_some() || o.class_weight.is_some() {
        return Err(Error::new(
            "fit (dataset): validation_split, sample_weight and class_weight need tensor input; \
             give validation_dataset, or weight inside the pipeline",
        ));
    }
    if ds.cardinality() == Cardinality::Infinite && o.steps_per_epoch.is_none() {
        return Err(Error::new("fit (dataset): the dataset is infinite (repeat()); set steps_per_epoch"));
    }
    let val = match (o.validation_dataset.take(), o.validation_data.take()) {
        (Some(d), _) => Some(Val::Dataset(d)),
        (None, Some((x, y))) => {
            model.check_data("fit (validation_data)", &x, Some(&y))?;
            Some(Val::Tensors(x, y))
        }
        (None, None) => None,
    };
    let source = Source::Dataset { ds, steps: o.steps_per_epoch, iter: None };
    train_loop(model, source, val, o)
}

/// One training batch: inputs, targets and optional per-sample loss weights.
struct Batch {
    x: Tensors,
    y: Tensors,
    w: Option<Tensor>,
}

type BatchIter<'s> = Box<dyn Iterator<Item = Result<Batch>> + 's>;

/// Where a fit's batches come from.
enum Source<'d> {
    Tensors {
        x: Tensors,
        y: Tensors,
        weights: Option<Vec<f32>>,
        order: Vec<usize>,
        batch_size: usize,
    },
    /// With `steps`, one pass of `ds` is kept in `iter` and continues across epochs.
    Dataset {
        ds: &'d Dataset,
        steps: Option<usize>,
        iter: Option<Box<dyn Iterator<Item = Result<Batch>> + Send + 'd>>,
    },
}

fn dataset_batches(ds: &Dataset) -> impl Iterator<Item = Result<Batch>> + Send {
    ds.iter().map(|e| e.map(|e| Batch { x: Tensors(e.x), y: Tensors(e.y), w: None }).map_err(Error::from))
}

impl<'d> Source<'d> {
    /// Batches per epoch, for the progress bar (0 when unknown).
    fn steps(&self) -> usize {
        match self {
            Source::Tensors { order, batch_size, .. } => order.len().div_ceil(*batch_size),
            Source::Dataset { steps: Some(s), .. } => *s,
            Source::Dataset { ds, .. } => match ds.cardinality() {
                Cardinality::Finite(n) => n,
                _ => 0,
            },
        }
    }
    /// The batches of the next epoch.
    fn epoch<'s>(&'s mut self, rng: &mut Rng, shuffle: bool) -> BatchIter<'s> {
        match self {
            Source::Tensors { x, y, weights, order, batch_size } => {
                if shuffle {
                    // Each epoch's order is a fresh permutation of the rows (as Keras draws
                    // one), a function of the generator alone: a fit resumed from a backup,
                    // which restores the generator, shuffles as the uninterrupted one did.
                    order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
                    rng.shuffle(order);
                }
                let (x, y, weights) = (&*x, &*y, &*weights);
                Box::new(order.chunks(*batch_size).map(move |idx| {
                    let w =
                        weights.as_ref().map(|w| Tensor::from_vec(idx.iter().map(|&i| w[i]).collect(), [idx.len()]));
                    Ok(Batch { x: x.select(idx), y: y.select(idx), w })
                }))
            }
            Source::Dataset { ds, steps: None, .. } => Box::new(dataset_batches(ds)),
            Source::Dataset { ds, steps: Some(s), iter } => {
                let ds: &'d Dataset = ds;
                let s = *s;
                let it = iter.get_or_insert_with(|| Box::new(dataset_batches(ds)));
                // A finite dataset that runs out starts a new pass, as Keras does.
                Box::new((0..s).map_while(move |_| match it.next() {
                    Some(b) => Some(b),
                    None => {
                        *it = Box::new(dataset_batches(ds));
                        it.next()
                    }
                }))
            }
        }
    }
}

/// Validation data of a fit.
enum Val<'d> {
    Tensors(Tensors, Tensors),
    Dataset(&'d Dataset),
}

fn train_loop(model: &mut Model, mut source: Source<'_>, val: Option<Val<'_>>, mut o: Fit<'_>) -> Result<History> {
    let names = model.output_names();

    let began = std::time::Instant::now();
    let mut history = History::default();
    let mut progress = Progress::new(o.verbose);
    let steps = source.steps();
    // Tensor input was checked as a whole; pipeline batches are checked as they arrive.
    let check = matches!(source, Source::Dataset { .. });
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
    let mut last_logs = Logs::default();
    for epoch in start..o.epochs {
        {
            let mut c = model.control();
            o.callbacks.iter_mut().for_each(|cb| cb.on_epoch_begin(epoch, &mut c));
        }
        let batches = source.epoch(&mut model.rng, o.shuffle);
        progress.epoch_begin(epoch, o.epochs, steps);
        model.compiled.as_mut().expect("compiled").metrics.iter_mut().flatten().for_each(|m| m.reset());
        let (mut loss_sum, mut parts_sum, mut seen) = (0.0, vec![0.0; names.len()], 0usize);
        let mut stop = false;
        for (b, batch) in batches.enumerate() {
            let Batch { x: xb, y: yb, w: wb } = batch?;
            if check {
                model.check_data("fit (dataset)", &xb, Some(&yb))?;
            }
            let len = xb.samples();
            {
                let mut ctl = model.control();
                o.callbacks.iter_mut().for_each(|cb| cb.on_train_batch_begin(b, &mut ctl));
            }
            let (loss, parts) = match o.train_step.as_mut() {
                Some(step) => (step(model, &xb.0[0], &yb.0[0])?, vec![]),
                None => {
                    let (loss, parts, pred) = model.step(&xb, &yb, wb.as_ref());
                    update_outputs(&mut model.compiled.as_mut().expect("compiled").metrics, &yb, &pred);
                    (loss, parts)
                }
            };
            loss_sum += loss * len as f64;
            parts_sum.iter_mut().zip(&parts).for_each(|(s, p)| *s += p * len as f64);
            seen += len;
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
            if o.time_limit.is_some_and(|t| began.elapsed() >= t) {
                stop = true;
                break;
            }
        }
        let val_logs = match &val {
            Some(Val::Tensors(vx, vy)) => Some(evaluate_batches(model, vx, vy, o.batch_size, true)),
            Some(Val::Dataset(d)) => Some(evaluate_dataset(model, d, true)?),
            None => None,
        };
        for (k, v) in val_logs.map(|l| l.0).into_iter().flatten() {
            last_logs.set(&k, v);
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
    let n = x.samples();
    let batches = (0..n).step_by(batch_size).map(|s| {
        let len = batch_size.min(n - s);
        Ok((x.rows(s, len), y.rows(s, len)))
    });
    evaluate_iter(model, batches, val, None).expect("tensor batches are checked before")
}

/// Keras `evaluate(dataset)`: each element of `ds` is one batch, checked as it arrives.
pub(crate) fn evaluate_dataset(model: &mut Model, ds: &Dataset, val: bool) -> Result<Logs> {
    if ds.cardinality() == Cardinality::Infinite {
        return Err(Error::new("evaluate (dataset): the dataset is infinite (repeat()); take() a finite part"));
    }
    let what = if val { "fit (validation_dataset)" } else { "evaluate (dataset)" };
    let batches = ds.iter().map(|e| e.map(|e| (Tensors(e.x), Tensors(e.y))).map_err(Error::from));
    evaluate_iter(model, batches, val, Some(what))
}

/// Loss and metrics over `batches`, in inference mode, weighted by batch size.
fn evaluate_iter(
    model: &mut Model,
    batches: impl Iterator<Item = Result<(Tensors, Tensors)>>,
    val: bool,
    check: Option<&str>,
) -> Result<Logs> {
    no_grad(|| {
        let names = model.output_names();
        let c = model.compiled.as_mut().expect("compiled");
        let metrics = if val { &mut c.val_metrics } else { &mut c.metrics };
        metrics.iter_mut().flatten().for_each(|m| m.reset());
        let (mut sum, mut parts_sum, mut n) = (0.0, vec![0.0; names.len()], 0usize);
        for b in batches {
            let (xb, yb) = b?;
            if let Some(what) = check {
                model.check_data(what, &xb, Some(&yb))?;
            }
            let len = xb.samples();
            let (loss, parts, pred) = model.loss_and_pred(&xb, &yb, None, false);
            sum += loss.item() * len as f64;
            parts_sum.iter_mut().zip(&parts).for_each(|(s, p)| *s += p * len as f64);
            n += len;
            let c = model.compiled.as_mut().expect("compiled");
            update_outputs(if val { &mut c.val_metrics } else { &mut c.metrics }, &yb, &pred);
        }
        let d = n.max(1) as f64;
        let means: Vec<f64> = parts_sum.iter().map(|s| s / d).collect();
        let c = model.compiled.as_mut().expect("compiled");
        let metrics = if val { &c.val_metrics } else { &c.metrics };
        Ok(batch_logs(sum / d, &means, &names, metrics, if val { "val_" } else { "" }))
    })
}

impl Model {
    /// One optimisation step on a batch; returns the total loss, each output's loss and the
    /// predictions (detached).
    pub(crate) fn step(&mut self, x: &Tensors, y: &Tensors, sw: Option<&Tensor>) -> (f64, Vec<f64>, Vec<Tensor>) {
        self.run_sized(|m| m.step_here(x, y, sw))
    }

    fn step_here(&mut self, x: &Tensors, y: &Tensors, sw: Option<&Tensor>) -> (f64, Vec<f64>, Vec<Tensor>) {
        // The weights this model trains are those trainable at its first step after compile
        // (Keras 3): a weight frozen since then still takes a gradient here, and one thawed
        // does not. The weights' own flags are put back after the step.
        let now = self.trainable_flags();
        let c = self.compiled.as_mut().expect("compiled");
        let flags = match &c.trainable {
            Some(f) if f.len() == now.len() => f.clone(),
            _ => c.trainable.insert(now.clone()).clone(),
        };
        let differs = flags != now;
        if differs {
            self.set_grad_flags(&flags);
        }
        let alpha = self.compiled.as_ref().expect("compiled").optimizer.backstitch_alpha();
        if let Some(a) = alpha {
            let (loss, _, _) = self.loss_and_pred(x, y, sw, true);
            let grads = loss.backward();
            self.apply(&grads, -a, false, &flags);
        }
        let (loss, parts, pred) = self.loss_and_pred(x, y, sw, true);
        let grads = loss.backward();
        self.apply(&grads, 1.0 + alpha.unwrap_or(0.0), true, &flags);
        if differs {
            self.set_grad_flags(&now);
        }
        (loss.item(), parts, pred)
    }

    /// Turns gradient tracking of each weight on or off (ids kept, so optimizer state stays).
    fn set_grad_flags(&mut self, flags: &[bool]) {
        let params = self.layers.iter_mut().flat_map(|l| l.params_mut());
        for (p, &on) in params.zip(flags) {
            p.value.set_requires_grad(on);
        }
    }

    /// One optimizer step from `grads`, scaled by `scale`, on the weights `flags` marks, then
    /// the weight constraints.
    pub(crate) fn apply(&mut self, grads: &sinew_tensor::Gradients, scale: f64, count: bool, flags: &[bool]) {
        let c = self.compiled.as_mut().expect("compiled");
        let mut params: Vec<&mut Param> = self.layers.iter_mut().flat_map(|l| l.params_mut()).collect();
        let mut vars: Vec<(&mut Tensor, bool)> =
            params.iter_mut().zip(flags).map(|(p, &on)| (&mut p.value, on)).collect();
        c.optimizer.apply_scaled(&mut vars, grads, scale, count);
        drop(vars);
        for p in params.iter_mut() {
            p.apply_constraint();
        }
    }

    /// Keras `fit`. `x` and `y` are a tensor each, or one tensor per input and output. Returns
    /// the History of per-epoch logs.
    pub fn fit(&mut self, x: impl Into<Tensors>, y: impl Into<Tensors>, opts: Fit<'_>) -> Result<History> {
        let x = x.into();
        self.build_for(&x)?;
        crate::fit::fit(self, &x, &y.into(), opts)
    }

    /// Keras `evaluate`: the loss and metrics over `x`, in batches.
    pub fn evaluate(&mut self, x: impl Into<Tensors>, y: impl Into<Tensors>, batch_size: usize) -> Result<Logs> {
        let (x, y) = (x.into(), y.into());
        self.build_for(&x)?;
        self.compiled("evaluate")?;
        self.check_data("evaluate", &x, Some(&y))?;
        Ok(crate::fit::evaluate_batches(self, &x, &y, batch_size.max(1), false))
    }

    /// Keras `train_on_batch`: one step; returns the batch loss and metrics.
    pub fn train_on_batch(&mut self, x: impl Into<Tensors>, y: impl Into<Tensors>) -> Result<Logs> {
        let (x, y) = (x.into(), y.into());
        self.build_for(&x)?;
        self.compiled("train_on_batch")?;
        self.check_data("train_on_batch", &x, Some(&y))?;
        let (loss, parts, pred) = self.step(&x, &y, None);
        let names = self.output_names();
        let c = self.compiled.as_mut().expect("compiled");
        c.metrics.iter_mut().flatten().for_each(|m| m.reset());
        crate::metrics::update_outputs(&mut c.metrics, &y, &pred);
        Ok(batch_logs(loss, &parts, &names, &c.metrics, ""))
    }

    /// Keras `test_on_batch`: loss and metrics of one batch, no update.
    pub fn test_on_batch(&mut self, x: impl Into<Tensors>, y: impl Into<Tensors>) -> Result<Logs> {
        let x = x.into();
        let n = x.samples().max(1);
        self.evaluate(x, y, n)
    }
}
