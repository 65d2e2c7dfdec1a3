//! Stateful metrics with Keras semantics: `update` per batch, `result` for the epoch, `reset`.

use crate::error::{Error, Result};
use crate::metrics_more::{Auc, Confusion, ConfusionKind, TopK, R2};
use sinew_tensor::{no_grad, Tensor};

/// A Keras metric.
pub trait Metric: Send {
    /// The name shown in logs and History (`accuracy`, `val_accuracy` for validation).
    fn name(&self) -> &str;
    /// Accumulates one batch. `y_pred` are probabilities or values (never logits).
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor);
    fn result(&self) -> f64;
    fn reset(&mut self);
}

/// How predictions are compared with targets for accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccuracyKind {
    /// `y_pred > threshold` against 0/1 targets.
    Binary,
    /// argmax of `y_pred` against argmax of one-hot targets.
    Categorical,
    /// argmax of `y_pred` against integer class ids.
    SparseCategorical,
}

/// Keras accuracy metrics (binary with threshold 0.5, categorical and sparse categorical).
pub struct Accuracy {
    name: String,
    kind: AccuracyKind,
    threshold: f64,
    correct: f64,
    count: f64,
}

impl Accuracy {
    pub fn new(name: impl Into<String>, kind: AccuracyKind) -> Self {
        Accuracy { name: name.into(), kind, threshold: 0.5, correct: 0.0, count: 0.0 }
    }
}

fn argmax_rows(t: &Tensor) -> Vec<usize> {
    let c = *t.dims().last().unwrap_or(&1);
    let v = t.to_vec_f32();
    v.chunks(c.max(1))
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) })
                .0
        })
        .collect()
}

impl Metric for Accuracy {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        let (correct, count) = match self.kind {
            AccuracyKind::Binary => {
                let (t, p) = (y_true.to_vec_f64(), y_pred.to_vec_f64());
                let hits = t.iter().zip(&p).filter(|(t, p)| (**p > self.threshold) == (**t > 0.5)).count();
                (hits, p.len())
            }
            AccuracyKind::Categorical => {
                let (t, p) = (argmax_rows(y_true), argmax_rows(y_pred));
                (t.iter().zip(&p).filter(|(a, b)| a == b).count(), p.len())
            }
            AccuracyKind::SparseCategorical => {
                let t = y_true.to_vec_f64();
                let p = argmax_rows(y_pred);
                (t.iter().zip(&p).filter(|(a, b)| **a as usize == **b).count(), p.len())
            }
        };
        self.correct += correct as f64;
        self.count += count as f64;
    }
    fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.correct / self.count
        }
    }
    fn reset(&mut self) {
        self.correct = 0.0;
        self.count = 0.0;
    }
}

/// Running mean of per-sample values of a regression error (`mse`, `mae`, `rmse`).
pub struct RegressionMetric {
    name: String,
    kind: &'static str,
    sum: f64,
    count: f64,
}

impl Metric for RegressionMetric {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        let (t, p) = (y_true.to_vec_f64(), y_pred.to_vec_f64());
        for (t, p) in t.iter().zip(&p) {
            let d = p - t;
            self.sum += match self.kind {
                "mae" => d.abs(),
                "mape" => 100.0 * (d / t.abs().max(1e-7)).abs(),
                _ => d * d,
            };
        }
        self.count += p.len() as f64;
    }
    fn result(&self) -> f64 {
        let m = if self.count == 0.0 { 0.0 } else { self.sum / self.count };
        if self.kind == "rmse" {
            m.sqrt()
        } else {
            m
        }
    }
    fn reset(&mut self) {
        self.sum = 0.0;
        self.count = 0.0;
    }
}

/// Resolves a Keras metric name. `accuracy`/`acc` picks binary, categorical or sparse accuracy
/// from the loss, as Keras does. The metric reports itself as `prefix + name` (`val_accuracy`).
pub fn metric_from_name(name: &str, loss_name: &str, prefix: &str) -> Result<Box<dyn Metric>> {
    let shown = format!("{prefix}{name}");
    let acc = |kind| -> Box<dyn Metric> { Box::new(Accuracy::new(shown.clone(), kind)) };
    let reg = |kind: &'static str| -> Box<dyn Metric> {
        Box::new(RegressionMetric { name: shown.clone(), kind, sum: 0.0, count: 0.0 })
    };
    Ok(match name {
        "accuracy" | "acc" => match loss_name {
            "binary_crossentropy" | "hinge" | "squared_hinge" => acc(AccuracyKind::Binary),
            "sparse_categorical_crossentropy" => acc(AccuracyKind::SparseCategorical),
            _ => acc(AccuracyKind::Categorical),
        },
        "binary_accuracy" => acc(AccuracyKind::Binary),
        "categorical_accuracy" => acc(AccuracyKind::Categorical),
        "sparse_categorical_accuracy" => acc(AccuracyKind::SparseCategorical),
        "mse" | "mean_squared_error" => reg("mse"),
        "mae" | "mean_absolute_error" => reg("mae"),
        "mape" | "mean_absolute_percentage_error" => reg("mape"),
        "rmse" | "root_mean_squared_error" => reg("rmse"),
        "precision" => Box::new(Confusion::new(shown.clone(), ConfusionKind::Precision)),
        "recall" => Box::new(Confusion::new(shown.clone(), ConfusionKind::Recall)),
        "f1_score" | "f1" => Box::new(Confusion::new(shown.clone(), ConfusionKind::FBeta(1.0))),
        "auc" => Box::new(Auc::new(shown.clone(), false)),
        "auc_pr" | "pr_auc" => Box::new(Auc::new(shown.clone(), true)),
        "top_k_categorical_accuracy" => Box::new(TopK::new(shown.clone(), 5, false)),
        "sparse_top_k_categorical_accuracy" => Box::new(TopK::new(shown.clone(), 5, true)),
        "r2_score" | "r2" => Box::new(R2::new(shown.clone())),
        _ => {
            const NAMES: &[&str] = &[
                "accuracy",
                "binary_accuracy",
                "categorical_accuracy",
                "sparse_categorical_accuracy",
                "mse",
                "mae",
                "mape",
                "rmse",
                "precision",
                "recall",
                "f1_score",
                "auc",
                "auc_pr",
                "top_k_categorical_accuracy",
                "sparse_top_k_categorical_accuracy",
                "r2_score",
            ];
            return Err(Error::new(format!("compile: unknown metric {name:?}{}", sinew_nn::suggest(name, NAMES))));
        }
    })
}

/// Updates every metric on a batch, without recording gradients.
/// Updates each output's metrics with that output's targets and predictions.
pub(crate) fn update_outputs(metrics: &mut [Vec<Box<dyn Metric>>], y_true: &crate::Tensors, y_pred: &[Tensor]) {
    no_grad(|| {
        for ((ms, t), p) in metrics.iter_mut().zip(&y_true.0).zip(y_pred) {
            for m in ms.iter_mut() {
                m.update(t, p);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_accuracy_follows_keras_semantics() {
        let mut b = metric_from_name("accuracy", "binary_crossentropy", "").unwrap();
        b.update(&Tensor::from_vec(vec![1., 0., 1., 0.], [4, 1]), &Tensor::from_vec(vec![0.6, 0.4, 0.5, 0.9], [4, 1]));
        assert_eq!(b.result(), 0.5, "0.5 is not above the threshold");
        let mut s = metric_from_name("accuracy", "sparse_categorical_crossentropy", "").unwrap();
        s.update(&Tensor::from_vec(vec![2., 0.], [2]), &Tensor::from_vec(vec![0.1, 0.2, 0.7, 0.3, 0.6, 0.1], [2, 3]));
        assert_eq!(s.result(), 0.5);
        s.reset();
        assert_eq!(s.result(), 0.0);
        let mut r = metric_from_name("rmse", "mse", "val_").unwrap();
        r.update(&Tensor::from_vec(vec![0., 0.], [2]), &Tensor::from_vec(vec![3., 4.], [2]));
        assert!((r.result() - 12.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn metrics_unknown_name_suggests() {
        let e = metric_from_name("acuracy", "mse", "").err().unwrap();
        assert_eq!(e.to_string(), "compile: unknown metric \"acuracy\"; did you mean \"accuracy\"?");
    }
}
