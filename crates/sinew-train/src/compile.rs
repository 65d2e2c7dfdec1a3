//! Keras `compile`: the loss of each output, the metrics, the loss weights and the optimizer a
//! model trains with, kept in [`Compiled`] until the next `compile`.

use crate::error::{Error, Result};
use crate::metrics::{metric_from_name, Metric};
use crate::model::Model;
use sinew_nn::{loss_from_name, Loss};
use sinew_optim::Optimizer;

/// A loss given to `compile`: a Keras name, a loss object, or one per output.
pub enum LossSpec {
    Name(String),
    Custom(Box<dyn Loss>),
    /// One loss per model output, in output order.
    PerOutput(Vec<LossSpec>),
}

impl From<&str> for LossSpec {
    fn from(s: &str) -> Self {
        LossSpec::Name(s.to_string())
    }
}

impl From<Box<dyn Loss>> for LossSpec {
    fn from(l: Box<dyn Loss>) -> Self {
        LossSpec::Custom(l)
    }
}

impl From<Vec<LossSpec>> for LossSpec {
    fn from(v: Vec<LossSpec>) -> Self {
        LossSpec::PerOutput(v)
    }
}

impl<const N: usize> From<[&str; N]> for LossSpec {
    fn from(v: [&str; N]) -> Self {
        LossSpec::PerOutput(v.iter().map(|s| LossSpec::from(*s)).collect())
    }
}

macro_rules! loss_spec_from {
    ($($t:ty),*) => {$(
        impl From<$t> for LossSpec {
            fn from(l: $t) -> Self {
                LossSpec::Custom(Box::new(l))
            }
        }
    )*};
}
loss_spec_from!(
    sinew_nn::BinaryCrossentropy,
    sinew_nn::CategoricalCrossentropy,
    sinew_nn::SparseCategoricalCrossentropy,
    sinew_nn::PointwiseLoss,
    sinew_nn::KlDivergence,
    sinew_nn::CategoricalHinge
);

impl LossSpec {
    pub(crate) fn resolve(self) -> Result<Box<dyn Loss>> {
        match self {
            LossSpec::Name(n) => loss_from_name(&n).map_err(|e| Error::new(format!("compile: {e}"))),
            LossSpec::Custom(l) => Ok(l),
            LossSpec::PerOutput(_) => Err(Error::new("compile: a per-output loss list cannot be nested")),
        }
    }
}

pub(crate) struct Compiled {
    pub(crate) metric_names: Vec<String>,
    /// Metrics named per output ([`Model::set_output_metrics`]), replacing `metric_names`.
    pub(crate) output_metrics: Option<Vec<Vec<String>>>,
    pub(crate) optimizer: Optimizer,
    /// One loss per output.
    pub(crate) losses: Vec<Box<dyn Loss>>,
    pub(crate) loss_weights: Vec<f64>,
    /// Per output, the metrics of training and of validation.
    pub(crate) metrics: Vec<Vec<Box<dyn Metric>>>,
    pub(crate) val_metrics: Vec<Vec<Box<dyn Metric>>>,
    /// Each weight's trainable flag at the first training step after `compile`: what every
    /// training step updates until the next `compile` (Keras 3 on TensorFlow traces its
    /// train function then and keeps it).
    pub(crate) trainable: Option<Vec<bool>>,
}

impl Model {
    /// Keras `compile`: optimizer, loss (a name, a loss object, or one per output) and metric
    /// names. With several outputs, one loss is used for all of them and every metric is tracked
    /// per output (`<output>_<metric>`).
    pub fn compile(&mut self, optimizer: Optimizer, loss: impl Into<LossSpec>, metrics: &[&str]) -> Result<()> {
        // A Sequential model without an input shape has one output and builds on its first call.
        let n_out = if self.deferred() {
            1
        } else {
            self.build()?;
            self.outputs.len()
        };
        let losses: Vec<Box<dyn Loss>> = match loss.into() {
            LossSpec::PerOutput(v) => {
                if v.len() != n_out {
                    return Err(Error::new(format!(
                        "compile: got {} losses for a model with {n_out} outputs {:?}",
                        v.len(),
                        self.output_names()
                    )));
                }
                v.into_iter().map(LossSpec::resolve).collect::<Result<_>>()?
            }
            one => {
                let first = one.resolve()?;
                let config = first.config();
                let mut v = vec![first];
                for _ in 1..n_out {
                    v.push(sinew_nn::loss_from_config(&config)?);
                }
                v
            }
        };
        let names = self.output_names();
        let every: Vec<Vec<&str>> = vec![metrics.to_vec(); n_out];
        let (train_metrics, val_metrics) =
            (metric_sets(&names, &losses, &every, false)?, metric_sets(&names, &losses, &every, true)?);
        self.compiled = Some(Compiled {
            trainable: None,
            metric_names: metrics.iter().map(|m| m.to_string()).collect(),
            output_metrics: None,
            optimizer,
            losses,
            loss_weights: vec![1.0; n_out],
            metrics: train_metrics,
            val_metrics,
        });
        Ok(())
    }

    /// Keras `compile(metrics=[[...], [...]])`: each output's own metrics, in output order
    /// (accuracy for a class output, MAE for a value one, say), in place of the compiled list
    /// that every output shares. Call after `compile`.
    pub fn set_output_metrics(&mut self, per_output: &[Vec<&str>]) -> Result<()> {
        let names = self.output_names();
        let c = self.compiled("set_output_metrics")?;
        if per_output.len() != c.losses.len() {
            return Err(Error::new(format!(
                "set_output_metrics: got {} metric lists for {} outputs {names:?}",
                per_output.len(),
                c.losses.len()
            )));
        }
        c.metrics = metric_sets(&names, &c.losses, per_output, false)?;
        c.val_metrics = metric_sets(&names, &c.losses, per_output, true)?;
        c.output_metrics = Some(per_output.iter().map(|v| v.iter().map(|m| m.to_string()).collect()).collect());
        Ok(())
    }

    /// Keras `compile(loss_weights=...)`: the weight of each output's loss in the total. Call
    /// after `compile`.
    pub fn set_loss_weights(&mut self, weights: &[f64]) -> Result<()> {
        let n = self.outputs.len();
        let c = self.compiled("set_loss_weights")?;
        if weights.len() != n {
            return Err(Error::new(format!("set_loss_weights: got {} weights for {n} outputs", weights.len())));
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
            return Err(Error::new(format!("set_loss_weights: weights must be finite, got {w}")));
        }
        c.loss_weights = weights.to_vec();
        Ok(())
    }

    pub(crate) fn compiled(&mut self, what: &str) -> Result<&mut Compiled> {
        self.compiled
            .as_mut()
            .ok_or_else(|| Error::state(format!("{what}: the model must be compiled first (call `compile`)")))
    }

    /// The optimizer given to `compile`.
    pub fn optimizer(&self) -> Option<&Optimizer> {
        self.compiled.as_ref().map(|c| &c.optimizer)
    }
    /// The compiled optimizer, mutable: Keras `model.optimizer.learning_rate = ...` between fits.
    pub fn optimizer_mut(&mut self) -> Option<&mut Optimizer> {
        self.compiled.as_mut().map(|c| &mut c.optimizer)
    }
}

/// Each output's metrics, named as `fit` reports them: `accuracy` for one output, else
/// `<output>_accuracy`, with `val_` before for validation.
fn metric_sets(
    names: &[String],
    losses: &[Box<dyn Loss>],
    per_output: &[Vec<&str>],
    val: bool,
) -> Result<Vec<Vec<Box<dyn Metric>>>> {
    let n_out = losses.len();
    (0..n_out)
        .map(|o| {
            let prefix = match (val, n_out) {
                (false, 1) => String::new(),
                (true, 1) => "val_".into(),
                (false, _) => format!("{}_", names[o]),
                (true, _) => format!("val_{}_", names[o]),
            };
            per_output[o].iter().map(|m| metric_from_name(m, losses[o].name(), &prefix)).collect()
        })
        .collect()
}
