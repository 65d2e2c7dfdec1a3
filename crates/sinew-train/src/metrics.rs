//! Stateful metrics with Keras semantics: `update` per batch, `result` for the epoch, `reset`:
//! accuracy and the mean losses, then the confusion-based and ranking ones (Precision, Recall,
//! F-beta, AUC over 200 thresholds for ROC and PR, top-k accuracy, R²), and the registry by name.

use crate::error::{Error, Result};
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

// ---- confusion-based and ranking metrics ----
/// Which count-based quantity a [`Confusion`] metric reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConfusionKind {
    Precision,
    Recall,
    /// F-beta (F1 when beta = 1).
    FBeta(f64),
}

/// Keras `Precision`, `Recall` and `FBetaScore` (micro-averaged over every element, threshold 0.5).
pub struct Confusion {
    name: String,
    kind: ConfusionKind,
    threshold: f64,
    tp: f64,
    fp: f64,
    fn_: f64,
}

impl Confusion {
    pub fn new(name: impl Into<String>, kind: ConfusionKind) -> Self {
        Confusion { name: name.into(), kind, threshold: 0.5, tp: 0.0, fp: 0.0, fn_: 0.0 }
    }
}

impl Metric for Confusion {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        for (t, p) in y_true.to_vec_f64().into_iter().zip(y_pred.to_vec_f64()) {
            match (t > 0.5, p > self.threshold) {
                (true, true) => self.tp += 1.0,
                (false, true) => self.fp += 1.0,
                (true, false) => self.fn_ += 1.0,
                (false, false) => {}
            }
        }
    }
    fn result(&self) -> f64 {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let (p, r) = (div(self.tp, self.tp + self.fp), div(self.tp, self.tp + self.fn_));
        match self.kind {
            ConfusionKind::Precision => p,
            ConfusionKind::Recall => r,
            ConfusionKind::FBeta(b) => div((1.0 + b * b) * p * r, b * b * p + r),
        }
    }
    fn reset(&mut self) {
        (self.tp, self.fp, self.fn_) = (0.0, 0.0, 0.0);
    }
}

/// Keras `AUC`: confusion counts at 200 thresholds, then the ROC area by the trapezoid rule or the
/// PR area by Davis & Goadrich interpolation (Keras' `summation_method="interpolation"`).
pub struct Auc {
    name: String,
    pr: bool,
    thresholds: Vec<f64>,
    tp: Vec<f64>,
    fp: Vec<f64>,
    tn: Vec<f64>,
    fn_: Vec<f64>,
}

impl Auc {
    /// `curve_pr = false` for ROC (the Keras default), `true` for precision-recall.
    pub fn new(name: impl Into<String>, curve_pr: bool) -> Self {
        let n = 200;
        let mut thresholds = vec![-1e-7];
        thresholds.extend((0..n - 2).map(|i| (i + 1) as f64 / (n - 1) as f64));
        thresholds.push(1.0 + 1e-7);
        Auc {
            name: name.into(),
            pr: curve_pr,
            thresholds,
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }
}

impl Metric for Auc {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        for (t, p) in y_true.to_vec_f64().into_iter().zip(y_pred.to_vec_f64()) {
            let pos = t > 0.5;
            for (i, &thr) in self.thresholds.iter().enumerate() {
                match (pos, p > thr) {
                    (true, true) => self.tp[i] += 1.0,
                    (false, true) => self.fp[i] += 1.0,
                    (true, false) => self.fn_[i] += 1.0,
                    (false, false) => self.tn[i] += 1.0,
                }
            }
        }
    }
    fn result(&self) -> f64 {
        let n = self.thresholds.len();
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        if !self.pr {
            let tpr: Vec<f64> = (0..n).map(|i| div(self.tp[i], self.tp[i] + self.fn_[i])).collect();
            let fpr: Vec<f64> = (0..n).map(|i| div(self.fp[i], self.fp[i] + self.tn[i])).collect();
            return (0..n - 1).map(|i| (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2.0).sum();
        }
        let p: Vec<f64> = (0..n).map(|i| self.tp[i] + self.fp[i]).collect();
        (0..n - 1)
            .map(|i| {
                let dtp = self.tp[i] - self.tp[i + 1];
                let dp = p[i] - p[i + 1];
                let slope = div(dtp, dp.max(0.0));
                let intercept = self.tp[i + 1] - slope * p[i + 1];
                let ratio = if p[i] > 0.0 && p[i + 1] > 0.0 { p[i] / p[i + 1] } else { 1.0 };
                div(slope * (dtp + intercept * ratio.ln()), (self.tp[i + 1] + self.fn_[i + 1]).max(0.0))
            })
            .sum()
    }
    fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }
}

/// Keras `TopKCategoricalAccuracy` (one-hot targets) and `SparseTopKCategoricalAccuracy`.
pub struct TopK {
    name: String,
    k: usize,
    sparse: bool,
    hits: f64,
    count: f64,
}

impl TopK {
    pub fn new(name: impl Into<String>, k: usize, sparse: bool) -> Self {
        TopK { name: name.into(), k, sparse, hits: 0.0, count: 0.0 }
    }
}

impl Metric for TopK {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        let c = *y_pred.dims().last().unwrap_or(&1);
        let (t, p) = (y_true.to_vec_f32(), y_pred.to_vec_f32());
        for (r, row) in p.chunks(c.max(1)).enumerate() {
            let label = if self.sparse {
                t[r] as usize
            } else {
                t[r * c..(r + 1) * c]
                    .iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
                    .0
            };
            // In the top k when fewer than k classes score strictly higher (Keras' in_top_k).
            let higher = row.iter().filter(|&&v| v > row[label]).count();
            self.hits += f64::from(u8::from(higher < self.k));
            self.count += 1.0;
        }
    }
    fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.hits / self.count
        }
    }
    fn reset(&mut self) {
        (self.hits, self.count) = (0.0, 0.0);
    }
}

/// Keras `R2Score` (uniform average over output columns): `1 - SS_res / SS_tot`.
pub struct R2 {
    name: String,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    res: Vec<f64>,
    count: f64,
}

impl R2 {
    pub fn new(name: impl Into<String>) -> Self {
        R2 { name: name.into(), sum: vec![], sum_sq: vec![], res: vec![], count: 0.0 }
    }
}

impl Metric for R2 {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        let n = y_true.dims().first().copied().unwrap_or(1).max(1);
        let c = y_true.numel() / n;
        if self.sum.len() != c {
            (self.sum, self.sum_sq, self.res) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
        }
        for (i, (t, p)) in y_true.to_vec_f64().into_iter().zip(y_pred.to_vec_f64()).enumerate() {
            let j = i % c.max(1);
            self.sum[j] += t;
            self.sum_sq[j] += t * t;
            self.res[j] += (t - p) * (t - p);
        }
        self.count += n as f64;
    }
    fn result(&self) -> f64 {
        if self.count == 0.0 || self.sum.is_empty() {
            return 0.0;
        }
        let scores: Vec<f64> = (0..self.sum.len())
            .map(|j| {
                let tot = self.sum_sq[j] - self.sum[j] * self.sum[j] / self.count;
                if tot > 0.0 {
                    1.0 - self.res[j] / tot
                } else {
                    0.0
                }
            })
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    }
    fn reset(&mut self) {
        self.sum.clear();
        self.sum_sq.clear();
        self.res.clear();
        self.count = 0.0;
    }
}

#[cfg(test)]
mod confusion_tests {
    use super::*;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape)
    }

    #[test]
    fn metrics_precision_recall_f1_count_like_keras() {
        let (y, p) = (t(&[1., 0., 1., 1., 0.], &[5]), t(&[0.9, 0.8, 0.2, 0.7, 0.1], &[5]));
        let mut pr = Confusion::new("precision", ConfusionKind::Precision);
        let mut re = Confusion::new("recall", ConfusionKind::Recall);
        let mut f1 = Confusion::new("f1", ConfusionKind::FBeta(1.0));
        for m in [&mut pr, &mut re, &mut f1] {
            m.update(&y, &p);
        }
        // tp 2, fp 1, fn 1
        assert!((pr.result() - 2.0 / 3.0).abs() < 1e-12 && (re.result() - 2.0 / 3.0).abs() < 1e-12);
        assert!((f1.result() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn metrics_auc_matches_exact_roc_for_separable_and_random_scores() {
        let mut a = Auc::new("auc", false);
        a.update(&t(&[0., 0., 1., 1.], &[4]), &t(&[0.1, 0.4, 0.35, 0.8], &[4]));
        // Exact ROC AUC is 0.75 (one of four positive/negative pairs misordered).
        assert!((a.result() - 0.75).abs() < 0.01, "{}", a.result());
        let mut perfect = Auc::new("auc", false);
        perfect.update(&t(&[0., 1.], &[2]), &t(&[0.2, 0.9], &[2]));
        assert!((perfect.result() - 1.0).abs() < 1e-9);
        let mut pr = Auc::new("auc_pr", true);
        pr.update(&t(&[0., 1.], &[2]), &t(&[0.2, 0.9], &[2]));
        assert!((pr.result() - 1.0).abs() < 1e-9, "{}", pr.result());
    }

    #[test]
    fn metrics_top_k_and_r2() {
        let mut k = TopK::new("top2", 2, true);
        k.update(&t(&[2., 0.], &[2]), &t(&[0.1, 0.5, 0.4, 0.2, 0.3, 0.5], &[2, 3]));
        assert_eq!(k.result(), 0.5);
        let mut r = R2::new("r2");
        r.update(&t(&[1., 2., 3., 4.], &[4, 1]), &t(&[1., 2., 3., 5.], &[4, 1]));
        assert!((r.result() - (1.0 - 1.0 / 5.0)).abs() < 1e-12);
    }
}
