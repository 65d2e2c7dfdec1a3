//! Keras losses. Each returns one value per sample (the mean over the last axis, or the sum over
//! classes for the cross-entropies); [`reduce`] applies sample weights and the reduction.

use crate::activation::Activation;
use crate::error::{Error, ErrorKind, Result};
use sinew_tensor::Tensor;

/// Keras clips probabilities into `[EPSILON, 1 - EPSILON]` before taking logs.
pub const EPSILON: f64 = 1e-7;

/// How per-sample losses become one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Keras default: the (weighted) sum divided by the number of samples.
    #[default]
    SumOverBatchSize,
    Sum,
}

/// A loss: per-sample values from targets and predictions.
pub trait Loss: Send + Sync {
    /// Keras name (`categorical_crossentropy`).
    fn name(&self) -> &'static str;
    /// What targets the loss takes, so that a caller holding only class ids or values (the
    /// command line) can shape them without its own list of loss names.
    fn target_kind(&self) -> TargetKind {
        TargetKind::Values
    }
    /// One loss per sample: shape `[batch]`.
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor;
    /// The same loss computed from the logits of a final softmax/sigmoid layer, when this loss
    /// can use them (exact, stabler and fused). `None` when it cannot.
    fn per_sample_from_logits(&self, _y_true: &Tensor, _logits: &Tensor, _act: Activation) -> Option<Tensor> {
        None
    }
    /// Keras-style config, enough for [`loss_from_config`] to rebuild the loss.
    fn config(&self) -> serde_json::Value {
        serde_json::json!(self.name())
    }
    /// Checks targets `y_true` (the whole batch) against the model output's per-sample shape
    /// before training, so a bad `y` is an error rather than a panic inside the loss. The default
    /// asks for the same per-sample shape.
    fn check_target(&self, y_true: &Tensor, output_shape: &[usize]) -> std::result::Result<(), String> {
        let got = &y_true.dims()[1.min(y_true.rank())..];
        if got == output_shape {
            return Ok(());
        }
        let mut msg = format!(
            "{}: targets have per-sample shape {got:?} (y has shape {:?}) but the model output has per-sample shape {output_shape:?}",
            self.name(),
            y_true.dims()
        );
        if got.is_empty() && output_shape == [1] {
            msg.push_str(&format!("; reshape y to [{}, 1]", y_true.dims().first().unwrap_or(&0)));
        } else if got.is_empty() || got == [1] {
            msg.push_str("; integer class ids need sparse_categorical_crossentropy, or one-hot them");
        }
        Err(msg)
    }
}

/// The targets a loss takes, for callers that shape them ([`Loss::target_kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetKind {
    /// One integer class id per sample (`sparse_categorical_crossentropy`).
    ClassIds,
    /// One probability (usually one-hot) vector per sample, one entry per class
    /// (`categorical_crossentropy`, `kl_divergence`, `categorical_hinge`).
    Distribution,
    /// Labels 0/1 with the output's shape (`binary_crossentropy`; the hinges also take -1/1).
    Binary,
    /// Real values with the output's shape (the regression losses).
    Values,
}

impl TargetKind {
    /// Whether the targets are classes (any kind but [`TargetKind::Values`]).
    pub fn is_classes(self) -> bool {
        self != TargetKind::Values
    }
}

/// Applies optional per-sample weights `[batch]` and the reduction, giving a scalar.
pub fn reduce(per_sample: &Tensor, sample_weight: Option<&Tensor>, reduction: Reduction) -> Tensor {
    let n = per_sample.numel().max(1) as f64;
    let v = match sample_weight {
        Some(w) => per_sample.mul(&w.reshape(per_sample.shape().clone())),
        None => per_sample.clone(),
    };
    match reduction {
        Reduction::SumOverBatchSize => v.sum_all().mul_scalar(1.0 / n),
        Reduction::Sum => v.sum_all(),
    }
}

fn check_same(name: &str, t: &Tensor, p: &Tensor) {
    assert!(t.shape() == p.shape(), "{name}: y_true shape {:?} differs from y_pred shape {:?}", t.shape(), p.shape());
}

/// Per-sample mean over every axis but the first.
fn mean_per_sample(v: &Tensor) -> Tensor {
    if v.rank() <= 1 {
        return v.clone();
    }
    let axes: Vec<isize> = (1..v.rank() as isize).collect();
    v.mean(&axes, false)
}

/// Class ids from a `[n]` or `[n, 1]` tensor of integral values.
pub fn class_ids(y: &Tensor, classes: usize) -> Vec<usize> {
    y.to_indices(classes, "sparse_categorical_crossentropy: label")
}

/// `v` as a class id when it is an integer in `[0, classes)`.
fn class_id(v: f64, classes: usize) -> Option<usize> {
    (v >= 0.0 && v.fract() == 0.0 && v < classes as f64).then_some(v as usize)
}

/// Keras `BinaryCrossentropy`. Args: `from_logits` (false), `label_smoothing` (0).
#[derive(Clone, Copy, Debug, Default)]
pub struct BinaryCrossentropy {
    pub from_logits: bool,
    pub label_smoothing: f64,
}

impl BinaryCrossentropy {
    fn logits_loss(&self, y: &Tensor, x: &Tensor) -> Tensor {
        // One fused, stable pass: max(x, 0) - x*y + log(1 + exp(-|x|)).
        mean_per_sample(&x.sigmoid_cross_entropy(y))
    }
    fn smooth(&self, y: &Tensor) -> Tensor {
        if self.label_smoothing > 0.0 {
            y.affine(1.0 - self.label_smoothing, 0.5 * self.label_smoothing)
        } else {
            y.clone()
        }
    }
}

impl Loss for BinaryCrossentropy {
    fn target_kind(&self) -> TargetKind {
        TargetKind::Binary
    }
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"class_name": self.name(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing})
    }
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        check_same("binary_crossentropy", y_true, y_pred);
        let y = self.smooth(y_true);
        if self.from_logits {
            return self.logits_loss(&y, y_pred);
        }
        let p = y_pred.clamp(EPSILON, 1.0 - EPSILON);
        let l = y.mul(&p.log()).add(&y.affine(-1.0, 1.0).mul(&p.affine(-1.0, 1.0).log()));
        mean_per_sample(&l.neg())
    }
    fn per_sample_from_logits(&self, y_true: &Tensor, logits: &Tensor, act: Activation) -> Option<Tensor> {
        (!self.from_logits && act == Activation::Sigmoid && y_true.shape() == logits.shape())
            .then(|| self.logits_loss(&self.smooth(y_true), logits))
    }
}

/// Keras `CategoricalCrossentropy` over one-hot (or soft) targets on the last axis.
#[derive(Clone, Copy, Debug, Default)]
pub struct CategoricalCrossentropy {
    pub from_logits: bool,
    pub label_smoothing: f64,
}

impl CategoricalCrossentropy {
    fn smooth(&self, y: &Tensor) -> Tensor {
        if self.label_smoothing > 0.0 {
            let k = *y.dims().last().unwrap() as f64;
            y.affine(1.0 - self.label_smoothing, self.label_smoothing / k)
        } else {
            y.clone()
        }
    }
}

impl Loss for CategoricalCrossentropy {
    fn target_kind(&self) -> TargetKind {
        TargetKind::Distribution
    }
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"class_name": self.name(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing})
    }
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        check_same("categorical_crossentropy", y_true, y_pred);
        let y = self.smooth(y_true);
        if self.from_logits {
            return y_pred.softmax_cross_entropy(&y);
        }
        // Keras renormalises the probabilities, then clips.
        let p = y_pred.div(&y_pred.sum(&[-1], true)).clamp(EPSILON, 1.0 - EPSILON);
        y.mul(&p.log()).sum(&[-1], false).neg()
    }
    fn per_sample_from_logits(&self, y_true: &Tensor, logits: &Tensor, act: Activation) -> Option<Tensor> {
        (!self.from_logits && act == Activation::Softmax && y_true.shape() == logits.shape())
            .then(|| logits.softmax_cross_entropy(&self.smooth(y_true)))
    }
}

/// Keras `SparseCategoricalCrossentropy`: integer class ids `[batch]` (or `[batch, 1]`) against
/// `[batch, classes]` predictions; for sequences, ids `[batch, steps]` against `[batch, steps,
/// classes]` (a char-level language model), where a sample's loss is the mean over its steps, so
/// the batch loss is Keras' mean over every step of every sample.
#[derive(Clone, Copy, Debug, Default)]
pub struct SparseCategoricalCrossentropy {
    pub from_logits: bool,
}

/// `per_step(predictions (n, classes), ids)` for `[batch, ..., classes]` predictions, averaged
/// over each sample's steps.
fn per_sample_over_steps(y_true: &Tensor, y_pred: &Tensor, per_step: impl Fn(&Tensor, &[usize]) -> Tensor) -> Tensor {
    let classes = y_pred.dims()[y_pred.rank() - 1];
    let batch = y_pred.dims()[0];
    let ids = class_ids(y_true, classes);
    if y_pred.rank() == 2 {
        return per_step(y_pred, &ids);
    }
    let n = y_pred.numel() / classes.max(1);
    assert!(
        ids.len() == n,
        "sparse_categorical_crossentropy: {} targets for predictions of shape {:?}",
        ids.len(),
        y_pred.shape()
    );
    per_step(&y_pred.reshape([n, classes]), &ids).reshape([batch, n / batch.max(1)]).mean(&[1], false)
}

impl Loss for SparseCategoricalCrossentropy {
    fn target_kind(&self) -> TargetKind {
        TargetKind::ClassIds
    }
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"class_name": self.name(), "from_logits": self.from_logits})
    }
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        assert!(
            y_pred.rank() >= 2,
            "sparse_categorical_crossentropy: y_pred must be [batch, ..., classes], got {:?}",
            y_pred.shape()
        );
        let from_logits = self.from_logits;
        per_sample_over_steps(y_true, y_pred, |p, ids| {
            if from_logits {
                return p.sparse_softmax_cross_entropy(ids);
            }
            let idx = Tensor::from_vec(ids.iter().map(|&i| i as f32).collect(), [ids.len(), 1]);
            // Keras renormalises the probabilities first, as for the dense cross-entropy.
            let q = p.div(&p.sum(&[-1], true)).clamp(EPSILON, 1.0 - EPSILON);
            q.gather(1, &idx).log().neg().reshape([ids.len()])
        })
    }
    fn check_target(&self, y_true: &Tensor, output_shape: &[usize]) -> std::result::Result<(), String> {
        let name = self.name();
        let Some((&classes, steps)) = output_shape.split_last() else {
            return Err(format!(
                "{name}: the model output must be [batch, classes] or [batch, steps, classes], got per-sample shape {output_shape:?}"
            ));
        };
        let per_sample = &y_true.dims()[1.min(y_true.rank())..];
        let fits = per_sample == steps || (per_sample.split_last() == Some((&1, steps)));
        if y_true.rank() == 0 || !fits {
            let want = if steps.is_empty() {
                "[batch] or [batch, 1]".to_string()
            } else {
                format!("[batch, {}]", steps.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
            };
            return Err(format!("{name}: targets must be class ids of shape {want}, got {:?}", y_true.dims()));
        }
        match y_true.to_vec_f64().into_iter().enumerate().find(|&(_, v)| class_id(v, classes).is_none()) {
            Some((i, v)) => Err(format!("{name}: target {i} is {v}, not a class id in [0, {classes})")),
            None => Ok(()),
        }
    }
    fn per_sample_from_logits(&self, y_true: &Tensor, logits: &Tensor, act: Activation) -> Option<Tensor> {
        (!self.from_logits && act == Activation::Softmax && logits.rank() >= 2)
            .then(|| per_sample_over_steps(y_true, logits, |p, ids| p.sparse_softmax_cross_entropy(ids)))
    }
}

/// Regression and margin losses that are a per-element function of target and prediction,
/// averaged over the last axes. (Not an activation: activations are `sinew_tensor::Activation`.)
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Pointwise {
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    /// Huber with `delta` (Keras default 1.0).
    Huber(f64),
    LogCosh,
    Poisson,
    /// Labels in {-1, 1} (0/1 labels are converted, as Keras does).
    Hinge,
    SquaredHinge,
}

impl Loss for Pointwise {
    fn target_kind(&self) -> TargetKind {
        match self {
            Pointwise::Hinge | Pointwise::SquaredHinge => TargetKind::Binary,
            _ => TargetKind::Values,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Pointwise::MeanSquaredError => "mean_squared_error",
            Pointwise::MeanAbsoluteError => "mean_absolute_error",
            Pointwise::MeanAbsolutePercentageError => "mean_absolute_percentage_error",
            Pointwise::MeanSquaredLogarithmicError => "mean_squared_logarithmic_error",
            Pointwise::Huber(_) => "huber",
            Pointwise::LogCosh => "log_cosh",
            Pointwise::Poisson => "poisson",
            Pointwise::Hinge => "hinge",
            Pointwise::SquaredHinge => "squared_hinge",
        }
    }
    fn config(&self) -> serde_json::Value {
        match *self {
            Pointwise::Huber(delta) => serde_json::json!({"class_name": "huber", "delta": delta}),
            _ => serde_json::json!(self.name()),
        }
    }
    fn per_sample(&self, t: &Tensor, p: &Tensor) -> Tensor {
        check_same(self.name(), t, p);
        let d = p.sub(t);
        let v = match *self {
            Pointwise::MeanSquaredError => d.square(),
            Pointwise::MeanAbsoluteError => d.abs(),
            Pointwise::MeanAbsolutePercentageError => d.div(&t.abs().clamp(EPSILON, f64::MAX)).abs().mul_scalar(100.0),
            Pointwise::MeanSquaredLogarithmicError => {
                let lp = p.clamp(EPSILON, f64::MAX).add_scalar(1.0).log();
                let lt = t.clamp(EPSILON, f64::MAX).add_scalar(1.0).log();
                lp.sub(&lt).square()
            }
            Pointwise::Huber(delta) => {
                let a = d.abs();
                let quad = a.clamp(0.0, delta);
                // 0.5 q² + delta (|d| - q): quadratic inside delta, linear outside.
                quad.square().mul_scalar(0.5).add(&a.sub(&quad).mul_scalar(delta))
            }
            // log(cosh(d)) = d + softplus(-2d) - log 2, stable for large |d|.
            Pointwise::LogCosh => d.add(&d.mul_scalar(-2.0).softplus()).add_scalar(-std::f64::consts::LN_2),
            Pointwise::Poisson => p.sub(&t.mul(&p.add_scalar(EPSILON).log())),
            Pointwise::Hinge => signed_labels(t).mul(p).affine(-1.0, 1.0).relu(),
            Pointwise::SquaredHinge => signed_labels(t).mul(p).affine(-1.0, 1.0).relu().square(),
        };
        mean_per_sample(&v)
    }
}

/// Keras converts 0/1 hinge labels to -1/1; labels already in {-1, 1} pass unchanged.
fn signed_labels(t: &Tensor) -> Tensor {
    if t.to_vec_f64().iter().all(|&v| v == 0.0 || v == 1.0) {
        t.affine(2.0, -1.0)
    } else {
        t.clone()
    }
}

/// Keras `KLDivergence`: `sum(t * log(t / p))` over the last axis, both clipped to [eps, 1].
#[derive(Clone, Copy, Debug, Default)]
pub struct KlDivergence;

impl Loss for KlDivergence {
    fn target_kind(&self) -> TargetKind {
        TargetKind::Distribution
    }
    fn name(&self) -> &'static str {
        "kl_divergence"
    }
    fn per_sample(&self, t: &Tensor, p: &Tensor) -> Tensor {
        check_same("kl_divergence", t, p);
        let (t, p) = (t.clamp(EPSILON, 1.0), p.clamp(EPSILON, 1.0));
        t.mul(&t.div(&p).log()).sum(&[-1], false)
    }
}

/// Keras `CategoricalHinge`: `max(0, 1 + max(neg) - pos)` with `pos = sum(t*p)`,
/// `neg = max((1 - t) * p)` (the linear-SVM head).
#[derive(Clone, Copy, Debug, Default)]
pub struct CategoricalHinge;

impl Loss for CategoricalHinge {
    fn target_kind(&self) -> TargetKind {
        TargetKind::Distribution
    }
    fn name(&self) -> &'static str {
        "categorical_hinge"
    }
    fn per_sample(&self, t: &Tensor, p: &Tensor) -> Tensor {
        check_same("categorical_hinge", t, p);
        let pos = t.mul(p).sum(&[-1], false);
        let neg = t.affine(-1.0, 1.0).mul(p).max(&[-1], false);
        neg.sub(&pos).add_scalar(1.0).relu()
    }
}

/// Every name and alias [`loss_from_name`] accepts.
pub const LOSS_NAMES: &[&str] = &[
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "huber",
    "log_cosh",
    "logcosh",
    "kl_divergence",
    "kld",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
];

/// The loss with Keras name (or alias) `name`, default arguments.
pub fn loss_from_name(name: &str) -> Result<Box<dyn Loss>> {
    Ok(match name {
        "binary_crossentropy" => Box::new(BinaryCrossentropy::default()),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy::default()),
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy::default()),
        "mean_squared_error" | "mse" => Box::new(Pointwise::MeanSquaredError),
        "mean_absolute_error" | "mae" => Box::new(Pointwise::MeanAbsoluteError),
        "mean_absolute_percentage_error" | "mape" => Box::new(Pointwise::MeanAbsolutePercentageError),
        "mean_squared_logarithmic_error" | "msle" => Box::new(Pointwise::MeanSquaredLogarithmicError),
        "huber" => Box::new(Pointwise::Huber(1.0)),
        "log_cosh" | "logcosh" => Box::new(Pointwise::LogCosh),
        "kl_divergence" | "kld" => Box::new(KlDivergence),
        "poisson" => Box::new(Pointwise::Poisson),
        "hinge" => Box::new(Pointwise::Hinge),
        "squared_hinge" => Box::new(Pointwise::SquaredHinge),
        "categorical_hinge" => Box::new(CategoricalHinge),
        _ => {
            return Err(Error::new(
                ErrorKind::UnknownName,
                format!("unknown loss {name:?}{}", crate::suggest(name, LOSS_NAMES)),
            ))
        }
    })
}

/// Rebuilds a loss from [`Loss::config`] output (or a bare Keras name).
pub fn loss_from_config(v: &serde_json::Value) -> Result<Box<dyn Loss>> {
    if let Some(name) = v.as_str() {
        return loss_from_name(name);
    }
    let name = v["class_name"]
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("loss config without class_name: {v}")))?;
    let flag = |k: &str| v[k].as_bool().unwrap_or(false);
    let num = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Ok(match name {
        "binary_crossentropy" => {
            Box::new(BinaryCrossentropy { from_logits: flag("from_logits"), label_smoothing: num("label_smoothing") })
        }
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: num("label_smoothing"),
        }),
        "sparse_categorical_crossentropy" => {
            Box::new(SparseCategoricalCrossentropy { from_logits: flag("from_logits") })
        }
        "huber" => Box::new(Pointwise::Huber(v["delta"].as_f64().unwrap_or(1.0))),
        other => loss_from_name(other)?,
    })
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn every_loss_name_and_alias_builds_and_says_its_targets() {
        for name in LOSS_NAMES {
            let l = loss_from_name(name).unwrap_or_else(|e| panic!("{name}: {}", e.message));
            // The config it writes rebuilds a loss of the same name and target kind.
            let back = loss_from_config(&l.config()).unwrap();
            assert_eq!((back.name(), back.target_kind()), (l.name(), l.target_kind()), "{name}");
        }
        let kind = |n: &str| loss_from_name(n).unwrap().target_kind();
        assert_eq!(kind("mape"), TargetKind::Values);
        assert_eq!(kind("logcosh"), TargetKind::Values);
        assert_eq!(kind("sparse_categorical_crossentropy"), TargetKind::ClassIds);
        assert_eq!(kind("categorical_crossentropy"), TargetKind::Distribution);
        assert_eq!(kind("binary_crossentropy"), TargetKind::Binary);
        assert_eq!(kind("hinge"), TargetKind::Binary);
    }
}
