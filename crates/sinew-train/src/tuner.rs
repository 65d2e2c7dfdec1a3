//! Hyperparameter search integrated with `fit` (issue 20): [`Tuner`] runs a grid or a seeded
//! random sample of a [`SearchSpace`], building each trial's model with the caller's closure,
//! scoring it by the best value of a validation metric with early stopping per trial, and
//! keeps the best model. Trials run one after another, each `fit` spreading its kernels over
//! the cores, or several at once ([`Tuner::workers`]), each on a core of its own.

use crate::callbacks::{resolve, EarlyStopping, Mode};
use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::model::Model;
use sinew_tensor::runtime::serial;
use sinew_tensor::{Rng, Tensor};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// One hyperparameter's value.
#[derive(Clone, Debug, PartialEq)]
pub enum HValue {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for HValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HValue::Int(i) => write!(f, "{i}"),
            // Debug keeps a float a float (`0.0`, not `0`) and is the shortest exact form.
            HValue::Float(x) => write!(f, "{x:?}"),
            HValue::Str(s) => write!(f, "{s}"),
            HValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<i64> for HValue {
    fn from(v: i64) -> Self {
        HValue::Int(v)
    }
}
impl From<usize> for HValue {
    fn from(v: usize) -> Self {
        HValue::Int(v as i64)
    }
}
impl From<i32> for HValue {
    fn from(v: i32) -> Self {
        HValue::Int(v as i64)
    }
}
impl From<f64> for HValue {
    fn from(v: f64) -> Self {
        HValue::Float(v)
    }
}
impl From<bool> for HValue {
    fn from(v: bool) -> Self {
        HValue::Bool(v)
    }
}
impl From<&str> for HValue {
    fn from(v: &str) -> Self {
        HValue::Str(v.to_string())
    }
}

/// The values each hyperparameter may take, in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchSpace {
    params: Vec<(String, Vec<HValue>)>,
}

impl SearchSpace {
    pub fn new() -> Self {
        Self::default()
    }
    /// `name` takes one of `values`.
    pub fn choice<V: Into<HValue>>(mut self, name: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.params.push((name.to_string(), values.into_iter().map(Into::into).collect()));
        self
    }
    /// How many combinations the grid has.
    pub fn size(&self) -> usize {
        self.params.iter().map(|(_, v)| v.len()).product()
    }
    /// Combination `k` of the grid (the last parameter varies fastest).
    fn combination(&self, mut k: usize) -> HParams {
        let mut out = vec![(String::new(), HValue::Int(0)); self.params.len()];
        for (slot, (name, values)) in out.iter_mut().zip(&self.params).rev() {
            *slot = (name.clone(), values[k % values.len()].clone());
            k /= values.len();
        }
        HParams(out)
    }
}

/// One trial's hyperparameters, by name.
#[derive(Clone, Debug, PartialEq)]
pub struct HParams(pub Vec<(String, HValue)>);

impl HParams {
    pub fn get(&self, name: &str) -> Option<&HValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    /// A number as f64 (an integer converts).
    pub fn f64(&self, name: &str) -> Result<f64> {
        match self.get(name) {
            Some(HValue::Float(x)) => Ok(*x),
            Some(HValue::Int(i)) => Ok(*i as f64),
            other => Err(Error::new(format!("hyperparameter {name:?}: expected a number, got {other:?}"))),
        }
    }
    pub fn usize(&self, name: &str) -> Result<usize> {
        match self.get(name) {
            Some(HValue::Int(i)) if *i >= 0 => Ok(*i as usize),
            other => {
                Err(Error::new(format!("hyperparameter {name:?}: expected a non-negative integer, got {other:?}")))
            }
        }
    }
    pub fn str(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(HValue::Str(s)) => Ok(s),
            other => Err(Error::new(format!("hyperparameter {name:?}: expected a string, got {other:?}"))),
        }
    }
}

impl fmt::Display for HParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// One finished trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub params: HParams,
    /// The best value of the objective over the trial's epochs.
    pub score: f64,
    /// 1-based.
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub seconds: f64,
}

/// The trials, best first, and the best trial's model (with its best epoch's weights).
pub struct SearchResult {
    pub objective: String,
    pub trials: Vec<Trial>,
    pub best_model: Model,
}

impl SearchResult {
    /// The trials as a text table, best first.
    pub fn table(&self) -> String {
        let mut s = format!("{:>4}  {:>10}  {:>10}  {:>8}  params\n", "rank", &self.objective, "best epoch", "seconds");
        for (i, t) in self.trials.iter().enumerate() {
            s += &format!("{:>4}  {:>10.4}  {:>10}  {:>8.1}  {}\n", i + 1, t.score, t.best_epoch, t.seconds, t.params);
        }
        s
    }
    /// The trials as CSV: one column per hyperparameter, then score, best epoch, epochs run and
    /// seconds.
    pub fn to_csv(&self) -> String {
        let names: Vec<&str> =
            self.trials.first().map(|t| t.params.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
        let mut s = format!("{},{},best_epoch,epochs_run,seconds\n", names.join(","), self.objective);
        for t in &self.trials {
            let vals: Vec<String> = t.params.0.iter().map(|(_, v)| v.to_string()).collect();
            s += &format!("{},{},{},{},{:.3}\n", vals.join(","), t.score, t.best_epoch, t.epochs_run, t.seconds);
        }
        s
    }
}

enum Strategy {
    Grid,
    Random { trials: usize, seed: u64 },
}

/// A grid or random search over a [`SearchSpace`], scored by `objective` (a metric `fit`
/// reports, `val_loss` or `val_accuracy` say), with early stopping after `patience` epochs
/// without improvement in each trial (none by default), on one worker or several.
pub struct Tuner {
    space: SearchSpace,
    strategy: Strategy,
    objective: String,
    mode: Mode,
    patience: Option<usize>,
    workers: usize,
}

impl Tuner {
    /// Every combination of the space.
    pub fn grid(space: SearchSpace, objective: &str) -> Self {
        Tuner {
            space,
            strategy: Strategy::Grid,
            objective: objective.to_string(),
            mode: Mode::Auto,
            patience: None,
            workers: 1,
        }
    }
    /// `trials` combinations drawn without repeats from the grid, from `seed`.
    pub fn random(space: SearchSpace, objective: &str, trials: usize, seed: u64) -> Self {
        Tuner { strategy: Strategy::Random { trials, seed }, ..Self::grid(space, objective) }
    }
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.patience = Some(patience);
        self
    }
    /// Runs up to `n` trials at once, each on one thread with its kernels kept to that thread
    /// (`sinew_tensor::runtime::serial`). With one worker (the default) a trial's kernels split
    /// across the cores instead. Several workers pay off when a model is too small for its
    /// kernels to split well; a trial's figures may then differ from a one-worker run in the
    /// last bits (a kernel's sums split differently).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The combinations this tuner will try, in order.
    pub fn plan(&self) -> Vec<HParams> {
        let n = self.space.size();
        let mut order: Vec<usize> = (0..n).collect();
        if let Strategy::Random { trials, seed } = self.strategy {
            Rng::seed(seed).shuffle(&mut order);
            order.truncate(trials.min(n));
        }
        order.into_iter().map(|k| self.space.combination(k)).collect()
    }

    /// Whether a higher objective is better (`Mode::Auto` as the callbacks resolve it).
    fn maximise(&self) -> bool {
        resolve(self.mode, &self.objective) == Mode::Max
    }

    /// One trial: builds, fits with early stopping on the objective (its best epoch's weights
    /// restored), and scores it by the objective's best value.
    fn trial<B, F>(&self, params: HParams, x: &Tensor, y: &Tensor, build: &B, fit: &F) -> Result<(Trial, Model)>
    where
        B: Fn(&HParams) -> Result<Model>,
        F: for<'a> Fn(&HParams, Fit<'a>) -> Fit<'a>,
    {
        let max = self.maximise();
        let start = Instant::now();
        let mut model = build(&params)?;
        let mut stop = EarlyStopping::new(&self.objective)
            .patience(self.patience.unwrap_or(usize::MAX))
            .mode(if max { Mode::Max } else { Mode::Min })
            .restore_best_weights(true);
        let history = model.fit(x, y, fit(&params, Fit::new().callback(&mut stop)))?;
        let series = history.get(&self.objective).ok_or_else(|| {
            Error::new(format!(
                "Tuner.search: fit reported no {:?}; the objective needs validation data (validation_split or validation_data)",
                self.objective
            ))
        })?;
        let (i, &score) = series
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .fold(None, |acc: Option<(usize, &f64)>, (i, v)| match acc {
                Some((_, b)) if (max && *b >= *v) || (!max && *b <= *v) => acc,
                _ => Some((i, v)),
            })
            .unwrap_or((0, &f64::NAN));
        let trial = Trial {
            params,
            score,
            best_epoch: i + 1,
            epochs_run: series.len(),
            seconds: start.elapsed().as_secs_f64(),
        };
        Ok((trial, model))
    }

    /// Runs the trials: `build` makes and compiles a model from a trial's hyperparameters, and
    /// `fit` completes the trial's `Fit` (which holds the tuner's early stopping) with its
    /// settings, which may read the trial's hyperparameters: epochs, batch size, and the
    /// validation the objective needs (`|_, f| f.epochs(20).validation_split(0.2)`);
    /// `on_trial` sees each finished trial, in the order they finish. Returns the trials best
    /// first and the best model. The first error stops the search (trials already running on
    /// other workers finish first) and is returned.
    pub fn search<B, F>(
        &self,
        x: &Tensor,
        y: &Tensor,
        build: B,
        fit: F,
        mut on_trial: impl FnMut(&Trial),
    ) -> Result<SearchResult>
    where
        B: Fn(&HParams) -> Result<Model> + Sync,
        F: for<'a> Fn(&HParams, Fit<'a>) -> Fit<'a> + Sync,
    {
        let plan = self.plan();
        if plan.is_empty() {
            return Err(Error::new("Tuner.search: the search space is empty"));
        }
        let max = self.maximise();
        let mut trials = vec![];
        let mut best: Option<(f64, Model)> = None;
        let mut keep = |trial: Trial, model: Model| {
            on_trial(&trial);
            let better = match &best {
                None => trial.score.is_finite(),
                Some((b, _)) => (max && trial.score > *b) || (!max && trial.score < *b),
            };
            if better {
                best = Some((trial.score, model));
            }
            trials.push(trial);
        };
        if self.workers == 1 {
            for params in plan {
                let (trial, model) = self.trial(params, x, y, &build, &fit)?;
                keep(trial, model);
            }
        } else {
            let next = AtomicUsize::new(0);
            let (tx, rx) = mpsc::channel();
            let mut first_error = None;
            std::thread::scope(|s| {
                for _ in 0..self.workers.min(plan.len()) {
                    let (tx, next, plan, build, fit) = (tx.clone(), &next, &plan, &build, &fit);
                    s.spawn(move || loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(params) = plan.get(k) else { break };
                        let r = serial(|| self.trial(params.clone(), x, y, build, fit));
                        if tx.send(r).is_err() {
                            break;
                        }
                    });
                }
                drop(tx);
                for r in rx {
                    match r {
                        Ok((trial, model)) => keep(trial, model),
                        Err(e) => {
                            // No new trial starts; those running finish and are dropped.
                            next.store(usize::MAX / 2, Ordering::Relaxed);
                            first_error.get_or_insert(e);
                        }
                    }
                }
            });
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        trials.sort_by(|a, b| {
            let o = a.score.total_cmp(&b.score);
            if max {
                o.reverse()
            } else {
                o
            }
        });
        let best_model =
            best.map(|(_, m)| m).ok_or_else(|| Error::new("Tuner.search: no trial gave a finite score"))?;
        Ok(SearchResult { objective: self.objective.clone(), trials, best_model })
    }
}
