//! sinew's optimizers: Keras update rules ([`rules`]) driven by one [`Optimizer`] that owns the
//! learning rate (constant or scheduled), gradient clipping, the iteration count and the
//! per-variable slot state.

pub mod rules;
mod schedules;

pub use rules::{AdaMod, Adadelta, Adagrad, Adam, Adamax, Nadam, RmsProp, Sgd, UpdateRule};
pub use schedules::LearningRate;

use rayon::prelude::*;
use serde_json::{json, Value};
use sinew_tensor::{Gradients, Tensor, TensorId};
use std::collections::HashMap;

/// An optimizer: an update rule plus learning rate, clipping and state.
pub struct Optimizer {
    rule: Box<dyn UpdateRule>,
    lr: LearningRate,
    clipnorm: Option<f32>,
    clipvalue: Option<f32>,
    global_clipnorm: Option<f32>,
    backstitch: Option<f64>,
    iterations: u64,
    state: HashMap<TensorId, Vec<Vec<f32>>>,
}

/// An optimizer's learned state, from [`Optimizer::snapshot`].
#[derive(Clone, Debug)]
pub struct OptimizerSnapshot {
    iterations: u64,
    state: HashMap<TensorId, Vec<Vec<f32>>>,
    lr: LearningRate,
    momentum: Option<f32>,
}

/// Variables at least this large are updated in parallel chunks of `CHUNK` elements: the update
/// is memory-bound, and two cores stream a 784x400 kernel, its gradient and its slots almost
/// twice as fast as one (SGD on the dense autoencoder: 263 to 155 us per step).
const PARALLEL_UPDATE: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

fn update_chunked(rule: &dyn UpdateRule, step: u64, lr: f32, w: &mut [f32], g: &[f32], state: &mut [Vec<f32>]) {
    if w.len() < PARALLEL_UPDATE {
        let mut slots: Vec<&mut [f32]> = state.iter_mut().map(|s| s.as_mut_slice()).collect();
        rule.update(step, lr, w, g, &mut slots);
        return;
    }
    // Chunk i of w, g and of every slot, handed out together.
    let mut slot_chunks: Vec<std::slice::ChunksMut<'_, f32>> = state.iter_mut().map(|s| s.chunks_mut(CHUNK)).collect();
    type Part<'a> = (&'a mut [f32], &'a [f32], Vec<&'a mut [f32]>);
    let parts: Vec<Part<'_>> = w
        .chunks_mut(CHUNK)
        .zip(g.chunks(CHUNK))
        .map(|(w, g)| (w, g, slot_chunks.iter_mut().map(|c| c.next().expect("slots match the variable")).collect()))
        .collect();
    parts.into_par_iter().for_each(|(w, g, mut slots)| rule.update(step, lr, w, g, &mut slots));
}

impl Optimizer {
    pub fn new(rule: impl UpdateRule + 'static, learning_rate: impl Into<LearningRate>) -> Self {
        Optimizer {
            rule: Box::new(rule),
            lr: learning_rate.into(),
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            backstitch: None,
            iterations: 0,
            state: HashMap::new(),
        }
    }
    /// Keras `SGD(learning_rate=0.01)`.
    pub fn sgd(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Sgd { momentum: 0.0, nesterov: false }, learning_rate)
    }
    /// Keras `SGD` with momentum (and optionally Nesterov).
    pub fn sgd_momentum(learning_rate: impl Into<LearningRate>, momentum: f32, nesterov: bool) -> Self {
        Self::new(Sgd { momentum, nesterov }, learning_rate)
    }
    /// Keras `RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-7)`.
    pub fn rmsprop(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(RmsProp { rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false }, learning_rate)
    }
    /// Keras `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    pub fn adam(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, weight_decay: 0.0 }, learning_rate)
    }
    /// Keras `AdamW(learning_rate=0.001, weight_decay=0.004)`.
    pub fn adamw(learning_rate: impl Into<LearningRate>, weight_decay: f32) -> Self {
        Self::new(Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, weight_decay }, learning_rate)
    }
    /// Keras `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1)`.
    pub fn adagrad(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Adagrad { initial_accumulator_value: 0.1, epsilon: 1e-7 }, learning_rate)
    }
    /// Keras `Adadelta(learning_rate=0.001, rho=0.95)`.
    pub fn adadelta(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Adadelta { rho: 0.95, epsilon: 1e-7 }, learning_rate)
    }
    /// Keras `Adamax(learning_rate=0.001)`.
    pub fn adamax(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Adamax { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }, learning_rate)
    }
    /// Keras `Nadam(learning_rate=0.001)`.
    pub fn nadam(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(Nadam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }, learning_rate)
    }
    /// AdaMod with the paper's defaults (beta_3 = 0.999).
    pub fn adamod(learning_rate: impl Into<LearningRate>) -> Self {
        Self::new(AdaMod { beta_1: 0.9, beta_2: 0.999, beta_3: 0.999, epsilon: 1e-8 }, learning_rate)
    }

    /// Every name [`Optimizer::from_name`] accepts: Keras' lower-case identifiers.
    pub const NAMES: &'static [&'static str] =
        &["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamod"];

    /// The optimizer with Keras identifier `name` (`"adam"`, `"sgd"`, ...; case-insensitive), with
    /// Keras' default arguments and `learning_rate`, or Keras' default rate for it when `None`
    /// (0.01 for SGD, 0.001 for the rest). The one table of optimizer names: the command line
    /// asks it too. `None` for an unknown name (see [`Optimizer::NAMES`]).
    pub fn from_name(name: &str, learning_rate: Option<LearningRate>) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let lr = |default: f64| learning_rate.clone().unwrap_or(LearningRate::Constant(default));
        Some(match name.as_str() {
            "sgd" => Self::sgd(lr(0.01)),
            "adam" => Self::adam(lr(0.001)),
            "adamw" => Self::adamw(lr(0.001), 0.004),
            "rmsprop" => Self::rmsprop(lr(0.001)),
            "adagrad" => Self::adagrad(lr(0.001)),
            "adadelta" => Self::adadelta(lr(0.001)),
            "adamax" => Self::adamax(lr(0.001)),
            "nadam" => Self::nadam(lr(0.001)),
            "adamod" => Self::adamod(lr(0.001)),
            _ => return None,
        })
    }

    /// Clips each gradient to this L2 norm (Keras `clipnorm`).
    pub fn clipnorm(mut self, v: f32) -> Self {
        self.clipnorm = Some(v);
        self
    }
    /// Clips each gradient element to `[-v, v]` (Keras `clipvalue`).
    pub fn clipvalue(mut self, v: f32) -> Self {
        self.clipvalue = Some(v);
        self
    }
    /// Scales all gradients together so their joint L2 norm is at most `v`.
    pub fn global_clipnorm(mut self, v: f32) -> Self {
        self.global_clipnorm = Some(v);
        self
    }
    /// The paper's default Backstitch alpha.
    pub const BACKSTITCH_ALPHA: f64 = 0.3;
    /// Backstitch (Wang et al. 2017): each minibatch takes a step of `-alpha * lr`, then a step of
    /// `(1 + alpha) * lr` with the gradient recomputed on the same minibatch. The training loop
    /// performs the two passes; see [`Optimizer::backstitch_alpha`]. The paper's default is
    /// [`Optimizer::BACKSTITCH_ALPHA`] (0.3).
    pub fn backstitch(mut self, alpha: f64) -> Self {
        self.backstitch = Some(alpha);
        self
    }
    pub fn backstitch_alpha(&self) -> Option<f64> {
        self.backstitch
    }

    pub fn name(&self) -> &'static str {
        self.rule.name()
    }
    /// Updates applied so far (Keras `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }
    /// The learning rate the next step will use.
    pub fn learning_rate(&self) -> f64 {
        self.lr.at(self.iterations)
    }
    /// Replaces the learning rate with a constant (what ReduceLROnPlateau does).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.lr = LearningRate::Constant(lr);
    }
    /// SGD's momentum or the Adam family's `beta_1`, if the rule has one.
    pub fn momentum(&self) -> Option<f64> {
        self.rule.momentum().map(f64::from)
    }
    /// Sets [`Optimizer::momentum`] for the next steps (what a one-cycle schedule cycles);
    /// false when the rule has none.
    pub fn set_momentum(&mut self, m: f64) -> bool {
        self.rule.set_momentum(m as f32)
    }
    /// What the optimizer has learned so far: its step count, its slots, its schedule and its
    /// momentum, to put back with [`Optimizer::restore`] (what the LR range test does after
    /// its pass).
    pub fn snapshot(&self) -> OptimizerSnapshot {
        OptimizerSnapshot {
            iterations: self.iterations,
            state: self.state.clone(),
            lr: self.lr.clone(),
            momentum: self.rule.momentum(),
        }
    }
    pub fn restore(&mut self, s: OptimizerSnapshot) {
        self.iterations = s.iterations;
        self.state = s.state;
        self.lr = s.lr;
        if let Some(m) = s.momentum {
            self.rule.set_momentum(m);
        }
    }

    /// One update of every trainable variable from `grads`. Each variable is a leaf tensor
    /// (updated in place, keeping its id, which keys its slots) and whether it is trainable.
    pub fn apply(&mut self, vars: &mut [(&mut Tensor, bool)], grads: &Gradients) {
        self.apply_scaled(vars, grads, 1.0, true);
    }

    /// An update with the learning rate scaled by `scale`; `count` decides whether it advances the
    /// iteration counter (Backstitch's first, negative sub-step does not).
    pub fn apply_scaled(&mut self, vars: &mut [(&mut Tensor, bool)], grads: &Gradients, scale: f64, count: bool) {
        let step = self.iterations + 1;
        let lr = (self.lr.at(self.iterations) * scale) as f32;
        let global = self.global_clipnorm.map(|max| {
            let sq: f64 = vars
                .iter()
                .filter_map(|(v, _)| grads.get(v))
                .map(|g| g.as_slice_f32().iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>())
                .sum();
            let norm = sq.sqrt() as f32;
            if norm > max {
                max / norm
            } else {
                1.0
            }
        });
        for (var, _) in vars.iter_mut().filter(|(_, trainable)| *trainable) {
            let Some(g) = grads.get(var) else { continue };
            let mut owned;
            let mut g: &[f32] = g.as_slice_f32();
            if self.clipvalue.is_some() || self.clipnorm.is_some() || global.is_some_and(|s| s != 1.0) {
                owned = g.to_vec();
                if let Some(s) = global {
                    owned.iter_mut().for_each(|v| *v *= s);
                }
                if let Some(c) = self.clipvalue {
                    owned.iter_mut().for_each(|v| *v = v.clamp(-c, c));
                }
                if let Some(c) = self.clipnorm {
                    let n = owned.iter().map(|v| v * v).sum::<f32>().sqrt();
                    if n > c {
                        owned.iter_mut().for_each(|v| *v *= c / n);
                    }
                }
                g = &owned;
            }
            let n = var.numel();
            let (slots, init) = (self.rule.slots(), self.rule.slot_init());
            let state = self.state.entry(var.id()).or_insert_with(|| vec![vec![init; n]; slots]);
            update_chunked(self.rule.as_ref(), step, lr, var.data_mut_f32(), g, state);
        }
        if count {
            self.iterations += 1;
        }
    }

    /// The slot buffers of the variable `id`, if it has been updated (for saving).
    pub fn slots(&self, id: TensorId) -> Option<&[Vec<f32>]> {
        self.state.get(&id).map(|v| v.as_slice())
    }
    /// Restores slot buffers for variable `id` (when loading a saved model).
    pub fn set_slots(&mut self, id: TensorId, slots: Vec<Vec<f32>>) {
        self.state.insert(id, slots);
    }
    /// Number of slot buffers this optimizer keeps per variable.
    pub fn slot_count(&self) -> usize {
        self.rule.slots()
    }
    /// Restores the iteration count (when loading a saved model).
    pub fn set_iterations(&mut self, n: u64) {
        self.iterations = n;
    }

    /// Rebuilds an optimizer from [`Optimizer::config`] output.
    pub fn from_config(v: &Value) -> Result<Self, String> {
        let class = v["class_name"].as_str().ok_or_else(|| format!("optimizer config without class_name: {v}"))?;
        let f = |k: &str| -> Result<f32, String> {
            v[k].as_f64().map(|x| x as f32).ok_or_else(|| format!("optimizer {class}: {k} missing in config"))
        };
        let b = |k: &str| v[k].as_bool().unwrap_or(false);
        let lr = LearningRate::from_config(&v["learning_rate"])
            .ok_or_else(|| format!("optimizer {class}: bad learning_rate {}", v["learning_rate"]))?;
        let mut o = match class {
            "SGD" => Self::new(Sgd { momentum: f("momentum")?, nesterov: b("nesterov") }, lr),
            "RMSprop" => Self::new(
                RmsProp { rho: f("rho")?, momentum: f("momentum")?, epsilon: f("epsilon")?, centered: b("centered") },
                lr,
            ),
            "Adam" | "AdamW" => Self::new(
                Adam {
                    beta_1: f("beta_1")?,
                    beta_2: f("beta_2")?,
                    epsilon: f("epsilon")?,
                    amsgrad: b("amsgrad"),
                    weight_decay: f("weight_decay")?,
                },
                lr,
            ),
            "Adagrad" => Self::new(
                Adagrad { initial_accumulator_value: f("initial_accumulator_value")?, epsilon: f("epsilon")? },
                lr,
            ),
            "Adadelta" => Self::new(Adadelta { rho: f("rho")?, epsilon: f("epsilon")? }, lr),
            "Adamax" => Self::new(Adamax { beta_1: f("beta_1")?, beta_2: f("beta_2")?, epsilon: f("epsilon")? }, lr),
            "Nadam" => Self::new(Nadam { beta_1: f("beta_1")?, beta_2: f("beta_2")?, epsilon: f("epsilon")? }, lr),
            "AdaMod" => Self::new(
                AdaMod { beta_1: f("beta_1")?, beta_2: f("beta_2")?, beta_3: f("beta_3")?, epsilon: f("epsilon")? },
                lr,
            ),
            other => return Err(format!("unknown optimizer {other:?}")),
        };
        o.clipnorm = v["clipnorm"].as_f64().map(|x| x as f32);
        o.clipvalue = v["clipvalue"].as_f64().map(|x| x as f32);
        o.global_clipnorm = v["global_clipnorm"].as_f64().map(|x| x as f32);
        o.backstitch = v["backstitch"].as_f64();
        Ok(o)
    }

    /// Keras-style config.
    pub fn config(&self) -> Value {
        let mut c = self.rule.config();
        c["class_name"] = json!(self.rule.name());
        c["learning_rate"] = self.lr.config();
        c["clipnorm"] = json!(self.clipnorm);
        c["clipvalue"] = json!(self.clipvalue);
        c["global_clipnorm"] = json!(self.global_clipnorm);
        c["backstitch"] = json!(self.backstitch);
        c
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn from_name_knows_every_name_with_keras_default_rates() {
        for name in Optimizer::NAMES {
            let o = Optimizer::from_name(name, None).unwrap_or_else(|| panic!("{name}"));
            let want = if *name == "sgd" { 0.01 } else { 0.001 };
            assert!((o.learning_rate() - want).abs() < 1e-12, "{name}: {}", o.learning_rate());
            // The config it writes rebuilds the same optimizer.
            assert_eq!(Optimizer::from_config(&o.config()).unwrap().config(), o.config(), "{name}");
        }
        let o = Optimizer::from_name("Adam", Some(LearningRate::Constant(0.5))).unwrap();
        assert_eq!((o.name(), o.learning_rate()), ("Adam", 0.5));
        assert!(Optimizer::from_name("adamm", None).is_none());
    }
}
