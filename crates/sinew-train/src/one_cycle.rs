//! Choosing and scheduling the learning rate the fast.ai way: the learning-rate range test
//! ([`Model::lr_find`], Smith 2015 as fast.ai runs it) and the one-cycle policy ([`OneCycle`],
//! Smith 2018; fast.ai's `fit_one_cycle`, PyTorch's `OneCycleLR`, with their defaults).

use crate::callbacks::{Callback, Control};
use crate::error::{Error, Result};
use crate::model::Model;
use sinew_tensor::Tensor;

/// The range test's settings (fast.ai's defaults): the rate grows exponentially from
/// `start_lr` to `end_lr` over `max_steps` batches of `batch_size` (100; `None`: one pass),
/// the loss is smoothed exponentially with `smoothing`, and the test stops once the smoothed
/// loss passes `diverge` times its best.
#[derive(Clone, Debug, PartialEq)]
pub struct LrFindOptions {
    pub start_lr: f64,
    pub end_lr: f64,
    pub batch_size: usize,
    pub max_steps: Option<usize>,
    pub smoothing: f64,
    pub diverge: f64,
}

impl Default for LrFindOptions {
    fn default() -> Self {
        LrFindOptions {
            start_lr: 1e-7,
            end_lr: 10.0,
            batch_size: 32,
            max_steps: Some(100),
            smoothing: 0.98,
            diverge: 4.0,
        }
    }
}

impl LrFindOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn range(mut self, start: f64, end: f64) -> Self {
        (self.start_lr, self.end_lr) = (start, end);
        self
    }
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    /// At most `n` batches (`None`: one pass over the data).
    pub fn max_steps(mut self, n: Option<usize>) -> Self {
        self.max_steps = n;
        self
    }
}

/// What the range test saw: each step's rate, loss and smoothed loss, and the suggested rate
/// (where the smoothed loss falls fastest against the log of the rate).
#[derive(Clone, Debug, PartialEq)]
pub struct LrFinder {
    pub lrs: Vec<f64>,
    pub losses: Vec<f64>,
    pub smoothed: Vec<f64>,
    pub suggestion: Option<f64>,
}

/// The rate where `smoothed` falls fastest against `ln(lr)`, leaving out the first tenth (at
/// most 10 points) and the last 5, as fast.ai does.
fn steepest(lrs: &[f64], smoothed: &[f64]) -> Option<f64> {
    let n = smoothed.len();
    let (skip_start, skip_end) = ((n / 10).min(10), 5.min(n / 5));
    if n < skip_start + skip_end + 3 {
        return None;
    }
    (skip_start..n - skip_end - 1)
        .map(|i| (i, (smoothed[i + 1] - smoothed[i]) / (lrs[i + 1].ln() - lrs[i].ln())))
        .filter(|(_, d)| d.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| lrs[i])
}

impl Model {
    /// fast.ai's learning-rate range test: trains on successive batches of `x`, `y` (in order,
    /// going round again if needed; shuffle sorted data first) with the rate growing exponentially from `start_lr` to
    /// `end_lr`, records the smoothed loss, stops when it diverges, and suggests a rate. The
    /// weights and the optimizer's state (step count, slots, schedule, momentum) are put back
    /// afterwards, so the model trains from where it was.
    pub fn lr_find(&mut self, x: &Tensor, y: &Tensor, opts: &LrFindOptions) -> Result<LrFinder> {
        self.compiled("lr_find")?;
        let n = x.dims().first().copied().unwrap_or(0);
        let per = opts.batch_size.max(1);
        let pass = n.div_ceil(per);
        // As fast.ai does: `max_steps` batches, going round the data again if one pass is shorter.
        let steps = opts.max_steps.unwrap_or(pass);
        if pass == 0 || steps < 2 || !(opts.start_lr > 0.0 && opts.end_lr > opts.start_lr) {
            return Err(Error::new(format!(
                "lr_find: needs data, at least 2 steps and 0 < start_lr < end_lr; got {n} samples in batches of {per}, {steps} steps, rates {} to {}",
                opts.start_lr, opts.end_lr
            )));
        }
        let weights = self.get_weights();
        let snapshot = self.compiled("lr_find")?.optimizer.snapshot();
        let (mut lrs, mut losses, mut smoothed) = (vec![], vec![], vec![]);
        let (mut avg, mut best) = (0.0, f64::INFINITY);
        let mut outcome = Ok(());
        for i in 0..steps {
            let lr = opts.start_lr * (opts.end_lr / opts.start_lr).powf(i as f64 / (steps - 1) as f64);
            self.compiled("lr_find")?.optimizer.set_learning_rate(lr);
            let start = (i % pass) * per;
            let len = per.min(n - start);
            let loss = match self.train_on_batch(x.narrow(0, start, len), y.narrow(0, start, len)) {
                Ok(logs) => logs.get("loss").unwrap_or(f64::NAN),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            avg = opts.smoothing * avg + (1.0 - opts.smoothing) * loss;
            let s = avg / (1.0 - opts.smoothing.powi(i as i32 + 1));
            lrs.push(lr);
            losses.push(loss);
            smoothed.push(s);
            if !s.is_finite() || s > opts.diverge * best {
                break;
            }
            best = best.min(s);
        }
        self.set_weights(&weights)?;
        self.compiled("lr_find")?.optimizer.restore(snapshot);
        outcome?;
        let suggestion = steepest(&lrs, &smoothed);
        Ok(LrFinder { lrs, losses, smoothed, suggestion })
    }
}

/// The one-cycle policy as a callback, PyTorch `OneCycleLR`'s defaults: over `total_steps`
/// batches the rate rises from `max_lr / div_factor` to `max_lr` during the first `pct_start`
/// of them and falls by cosine to `max_lr / (div_factor · final_div_factor)`; the momentum
/// (SGD's, or the Adam family's `beta_1`) moves the other way, from `max_momentum` down to
/// `base_momentum` and back. An optimizer without momentum keeps its own (plain SGD).
#[derive(Clone, Debug)]
pub struct OneCycle {
    pub max_lr: f64,
    pub total_steps: usize,
    pub pct_start: f64,
    pub div_factor: f64,
    pub final_div_factor: f64,
    pub base_momentum: f64,
    pub max_momentum: f64,
    step: usize,
}

/// From `start` at `pct = 0` to `end` at `pct = 1`, by half a cosine.
fn cosine(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * (1.0 + (std::f64::consts::PI * pct).cos())
}

impl OneCycle {
    /// A cycle over `epochs` of `steps_per_epoch` batches.
    pub fn new(max_lr: f64, epochs: usize, steps_per_epoch: usize) -> Self {
        OneCycle {
            max_lr,
            total_steps: (epochs * steps_per_epoch).max(2),
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            base_momentum: 0.85,
            max_momentum: 0.95,
            step: 0,
        }
    }
    pub fn pct_start(mut self, p: f64) -> Self {
        self.pct_start = p;
        self
    }
    pub fn momentum_range(mut self, base: f64, max: f64) -> Self {
        (self.base_momentum, self.max_momentum) = (base, max);
        self
    }

    /// The step where the warm-up ends.
    fn peak(&self) -> f64 {
        (self.pct_start * self.total_steps as f64 - 1.0).max(1.0)
    }
    /// The rate and the momentum at 0-based batch `step`.
    pub fn at(&self, step: usize) -> (f64, f64) {
        let t = step.min(self.total_steps - 1) as f64;
        let (start, min) = (self.max_lr / self.div_factor, self.max_lr / (self.div_factor * self.final_div_factor));
        let peak = self.peak();
        if t <= peak {
            let p = t / peak;
            (cosine(start, self.max_lr, p), cosine(self.max_momentum, self.base_momentum, p))
        } else {
            let p = (t - peak) / ((self.total_steps - 1) as f64 - peak).max(1.0);
            (cosine(self.max_lr, min, p), cosine(self.base_momentum, self.max_momentum, p))
        }
    }
}

impl Callback for OneCycle {
    fn on_train_begin(&mut self, _c: &mut Control) {
        self.step = 0;
    }
    fn on_train_batch_begin(&mut self, _batch: usize, c: &mut Control) {
        let (lr, m) = self.at(self.step);
        c.set_learning_rate(lr);
        c.optimizer().set_momentum(m);
        self.step += 1;
    }
}
