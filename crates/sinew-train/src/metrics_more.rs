//! Confusion-based and ranking metrics with Keras semantics: Precision, Recall, F-beta, AUC
//! (ROC and PR, 200 thresholds), top-k accuracy and R².

use crate::metrics::Metric;
use sinew_tensor::Tensor;

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
mod tests {
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
