//! Evaluation reports in scikit-learn's layout: the confusion matrix, `classification_report`,
//! the ROC curve and its AUC, and a regression report. Labels are class ids `0..num_classes`.
//! Each has a `_weighted` form taking scikit-learn's `sample_weight` (one non-negative finite
//! weight per sample); the plain forms weigh every sample 1.

use crate::error::{Error, Result};
use std::fmt;

/// Checks `sample_weight`: one finite, non-negative weight per sample, not all zero.
fn check_weights(what: &str, n: usize, w: &[f64]) -> Result<()> {
    if w.len() != n {
        return Err(Error::invalid(format!("{what}: {n} samples but {} sample weights", w.len())));
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::invalid(format!("{what}: sample weight {i} is {}, expected a finite value >= 0", w[i])));
    }
    if w.iter().all(|&v| v == 0.0) {
        return Err(Error::invalid(format!("{what}: every sample weight is 0")));
    }
    Ok(())
}

fn check_lengths(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::invalid(format!("{what}: y_true has {a} labels but y_pred has {b}")));
    }
    if a == 0 {
        return Err(Error::invalid(format!("{what}: no samples")));
    }
    Ok(())
}

/// Checks that the labels pair up and are class ids below `num_classes`.
fn check_labels(y_true: &[usize], y_pred: &[usize], num_classes: usize) -> Result<()> {
    check_lengths("confusion_matrix", y_true.len(), y_pred.len())?;
    match y_true.iter().zip(y_pred).position(|(&t, &p)| t >= num_classes || p >= num_classes) {
        Some(i) => Err(Error::invalid(format!(
            "confusion_matrix: sample {i} has labels {} (true) and {} (predicted), expected ids below {num_classes}",
            y_true[i], y_pred[i]
        ))),
        None => Ok(()),
    }
}

/// scikit-learn `confusion_matrix`: `m[t][p]` counts samples of true class `t` predicted as `p`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], num_classes: usize) -> Result<Vec<Vec<usize>>> {
    check_labels(y_true, y_pred, num_classes)?;
    let mut m = vec![vec![0usize; num_classes]; num_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        m[t][p] += 1;
    }
    Ok(m)
}

/// scikit-learn `confusion_matrix(..., sample_weight=w)`: `m[t][p]` sums the weights of the
/// samples of true class `t` predicted as `p`.
pub fn confusion_matrix_weighted(
    y_true: &[usize],
    y_pred: &[usize],
    num_classes: usize,
    sample_weight: &[f64],
) -> Result<Vec<Vec<f64>>> {
    check_labels(y_true, y_pred, num_classes)?;
    check_weights("confusion_matrix", y_true.len(), sample_weight)?;
    let mut m = vec![vec![0.0; num_classes]; num_classes];
    for ((&t, &p), &w) in y_true.iter().zip(y_pred).zip(sample_weight) {
        m[t][p] += w;
    }
    Ok(m)
}

/// Precision, recall, F1 and support of one class or average. The support is the number of
/// samples, or the sum of their weights in a weighted report (as scikit-learn's).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: f64,
}

/// scikit-learn `classification_report`: one row per class, then accuracy, macro and weighted
/// averages. A ratio with a zero denominator is 0, as scikit-learn's default `zero_division`.
/// `Display` prints scikit-learn's text layout with `digits` decimals.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    pub names: Vec<String>,
    pub classes: Vec<ClassScores>,
    pub accuracy: f64,
    pub macro_avg: ClassScores,
    pub weighted_avg: ClassScores,
    pub digits: usize,
}

/// Builds a [`ClassificationReport`] for class ids `0..num_classes`, named by `target_names`
/// (default: the ids).
pub fn classification_report(
    y_true: &[usize],
    y_pred: &[usize],
    num_classes: usize,
    target_names: Option<&[&str]>,
) -> Result<ClassificationReport> {
    check_lengths("classification_report", y_true.len(), y_pred.len())?;
    classification_report_weighted(y_true, y_pred, num_classes, target_names, &vec![1.0; y_true.len()])
}

/// [`classification_report`] with scikit-learn's `sample_weight`: every count is a sum of
/// weights.
pub fn classification_report_weighted(
    y_true: &[usize],
    y_pred: &[usize],
    num_classes: usize,
    target_names: Option<&[&str]>,
    sample_weight: &[f64],
) -> Result<ClassificationReport> {
    let m = confusion_matrix_weighted(y_true, y_pred, num_classes, sample_weight)?;
    let names: Vec<String> = match target_names {
        Some(n) if n.len() != num_classes => {
            return Err(Error::invalid(format!(
                "classification_report: {} target_names for {num_classes} classes",
                n.len()
            )))
        }
        Some(n) => n.iter().map(|s| s.to_string()).collect(),
        None => (0..num_classes).map(|c| c.to_string()).collect(),
    };
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let classes: Vec<ClassScores> = (0..num_classes)
        .map(|c| {
            let tp = m[c][c];
            let predicted: f64 = (0..num_classes).map(|t| m[t][c]).sum();
            let support: f64 = m[c].iter().sum();
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            ClassScores { precision, recall, f1, support }
        })
        .collect();
    let n: f64 = sample_weight.iter().sum();
    let correct: f64 = (0..num_classes).map(|c| m[c][c]).sum();
    let mean = |f: &dyn Fn(&ClassScores) -> f64| classes.iter().map(f).sum::<f64>() / num_classes as f64;
    let weighted = |f: &dyn Fn(&ClassScores) -> f64| classes.iter().map(|c| f(c) * c.support).sum::<f64>() / n;
    Ok(ClassificationReport {
        names,
        accuracy: correct / n,
        macro_avg: ClassScores {
            precision: mean(&|c| c.precision),
            recall: mean(&|c| c.recall),
            f1: mean(&|c| c.f1),
            support: n,
        },
        weighted_avg: ClassScores {
            precision: weighted(&|c| c.precision),
            recall: weighted(&|c| c.recall),
            f1: weighted(&|c| c.f1),
            support: n,
        },
        classes,
        digits: 2,
    })
}

impl fmt::Display for ClassificationReport {
    /// scikit-learn's layout, column for column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits;
        let width = self.names.iter().map(String::len).max().unwrap_or(0).max("weighted avg".len()).max(d);
        writeln!(f, "{:>width$}  {:>9} {:>9} {:>9} {:>9}", "", "precision", "recall", "f1-score", "support")?;
        writeln!(f)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &ClassScores| {
            writeln!(f, "{name:>width$}  {:>9.d$} {:>9.d$} {:>9.d$} {:>9}", s.precision, s.recall, s.f1, s.support)
        };
        for (name, s) in self.names.iter().zip(&self.classes) {
            row(f, name, s)?;
        }
        writeln!(f)?;
        let total = self.macro_avg.support;
        writeln!(f, "{:>width$}  {:>9} {:>9} {:>9.d$} {:>9}", "accuracy", "", "", self.accuracy, total)?;
        row(f, "macro avg", &self.macro_avg)?;
        row(f, "weighted avg", &self.weighted_avg)
    }
}

/// Regression metrics (scikit-learn's `mean_absolute_error`, `mean_squared_error`, its root,
/// `r2_score` and `explained_variance_score`).
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionReport {
    pub mae: f64,
    pub mse: f64,
    pub rmse: f64,
    pub r2: f64,
    pub explained_variance: f64,
}

/// The [`RegressionReport`] of predictions `y_pred` against `y_true`. NaN or infinite values
/// are an error naming the sample.
pub fn regression_report(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionReport> {
    check_lengths("regression_report", y_true.len(), y_pred.len())?;
    regression_report_weighted(y_true, y_pred, &vec![1.0; y_true.len()])
}

/// [`regression_report`] with scikit-learn's `sample_weight`: every mean is a weighted mean.
pub fn regression_report_weighted(y_true: &[f64], y_pred: &[f64], sample_weight: &[f64]) -> Result<RegressionReport> {
    check_lengths("regression_report", y_true.len(), y_pred.len())?;
    check_weights("regression_report", y_true.len(), sample_weight)?;
    if let Some(i) = y_true.iter().chain(y_pred).position(|v| !v.is_finite()) {
        let (which, j) = if i < y_true.len() { ("y_true", i) } else { ("y_pred", i - y_true.len()) };
        return Err(Error::invalid(format!("regression_report: {which}[{j}] is not finite")));
    }
    let w = sample_weight;
    let total: f64 = w.iter().sum();
    let mean = |v: &mut dyn Iterator<Item = f64>| v.zip(w).map(|(x, wi)| x * wi).sum::<f64>() / total;
    let err: Vec<f64> = y_true.iter().zip(y_pred).map(|(t, p)| t - p).collect();
    let mae = mean(&mut err.iter().map(|e| e.abs()));
    let mse = mean(&mut err.iter().map(|e| e * e));
    let mt = mean(&mut y_true.iter().copied());
    let var_t = mean(&mut y_true.iter().map(|t| (t - mt).powi(2)));
    let me = mean(&mut err.iter().copied());
    let var_e = mean(&mut err.iter().map(|e| (e - me).powi(2)));
    // scikit-learn: a constant y_true gives 1 for a perfect fit and 0 otherwise.
    let score = |num: f64| {
        if var_t == 0.0 {
            if num == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - num / var_t
        }
    };
    Ok(RegressionReport { mae, mse, rmse: mse.sqrt(), r2: score(mse), explained_variance: score(var_e) })
}

impl fmt::Display for RegressionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "MAE:                {:.4}", self.mae)?;
        writeln!(f, "MSE:                {:.4}", self.mse)?;
        writeln!(f, "RMSE:               {:.4}", self.rmse)?;
        writeln!(f, "R2:                 {:.4}", self.r2)?;
        writeln!(f, "Explained variance: {:.4}", self.explained_variance)
    }
}

/// The ROC curve of a binary classifier, as scikit-learn's `roc_curve` (with its default
/// `drop_intermediate=True`): false and true positive rates at each distinct score threshold,
/// highest threshold first, starting from `(0, 0)` at an infinite threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// The area under the curve (trapezoidal rule, as scikit-learn's `auc`).
    pub fn auc(&self) -> f64 {
        self.fpr.windows(2).zip(self.tpr.windows(2)).map(|(f, t)| (f[1] - f[0]) * (t[0] + t[1]) / 2.0).sum()
    }
}

/// The samples with a non-zero weight, highest score first. scikit-learn leaves zero-weight
/// samples out before it looks for thresholds, so their scores are not thresholds.
fn by_score(y_score: &[f64], sample_weight: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..y_score.len()).filter(|&i| sample_weight[i] != 0.0).collect();
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    order
}

/// scikit-learn `roc_curve` for labels 0/1 and scores (higher means class 1). Both classes must
/// be present, and scores must be finite.
pub fn roc_curve(y_true: &[usize], y_score: &[f64]) -> Result<RocCurve> {
    check_lengths("roc_curve", y_true.len(), y_score.len())?;
    roc_curve_weighted(y_true, y_score, &vec![1.0; y_true.len()])
}

/// [`roc_curve`] with scikit-learn's `sample_weight`: true and false positives are sums of
/// weights.
pub fn roc_curve_weighted(y_true: &[usize], y_score: &[f64], sample_weight: &[f64]) -> Result<RocCurve> {
    check_lengths("roc_curve", y_true.len(), y_score.len())?;
    check_weights("roc_curve", y_true.len(), sample_weight)?;
    if let Some(i) = y_true.iter().position(|&t| t > 1) {
        return Err(Error::invalid(format!("roc_curve: label {i} is {}, expected 0 or 1", y_true[i])));
    }
    if let Some(i) = y_score.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(format!("roc_curve: score {i} is not finite")));
    }
    let positives = y_true.iter().filter(|&&t| t == 1).count();
    if positives == 0 || positives == y_true.len() {
        return Err(Error::invalid("roc_curve: needs both classes in y_true"));
    }
    let order = by_score(y_score, sample_weight);
    // Cumulative true and false positives (weights) at the last index of each distinct score.
    let (mut tps, mut fps, mut thr) = (vec![], vec![], vec![]);
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] == 1 {
            tp += sample_weight[i];
        } else {
            fp += sample_weight[i];
        }
        let last = k + 1 == order.len() || y_score[order[k + 1]] != y_score[i];
        if last {
            tps.push(tp);
            fps.push(fp);
            thr.push(y_score[i]);
        }
    }
    if tp == 0.0 || fp == 0.0 {
        return Err(Error::invalid("roc_curve: the positive or the negative samples all weigh 0"));
    }
    // Drop points collinear with their neighbours (scikit-learn's drop_intermediate).
    let keep: Vec<usize> = (0..tps.len())
        .filter(|&i| {
            i == 0 || i + 1 == tps.len() || {
                // numpy's np.diff(v, 2), in its order of operations.
                let d2 = |v: &[f64]| (v[i + 1] - v[i]) - (v[i] - v[i - 1]);
                tps.len() <= 2 || d2(&fps) != 0.0 || d2(&tps) != 0.0
            }
        })
        .collect();
    let (fp_total, tp_total) = (*fps.last().expect("non-empty"), *tps.last().expect("non-empty"));
    let mut curve = RocCurve { fpr: vec![0.0], tpr: vec![0.0], thresholds: vec![f64::INFINITY] };
    for i in keep {
        curve.fpr.push(fps[i] / fp_total);
        curve.tpr.push(tps[i] / tp_total);
        curve.thresholds.push(thr[i]);
    }
    Ok(curve)
}

/// scikit-learn `roc_auc_score` for a binary problem.
pub fn roc_auc_score(y_true: &[usize], y_score: &[f64]) -> Result<f64> {
    Ok(roc_curve(y_true, y_score)?.auc())
}

/// [`roc_auc_score`] with scikit-learn's `sample_weight`.
pub fn roc_auc_score_weighted(y_true: &[usize], y_score: &[f64], sample_weight: &[f64]) -> Result<f64> {
    Ok(roc_curve_weighted(y_true, y_score, sample_weight)?.auc())
}

/// scikit-learn `average_precision_score` (the area under the precision-recall curve as a step
/// function, no interpolation) for labels 0/1 and scores: `sum_k (R_k - R_{k-1}) P_k` over the
/// distinct scores from the highest, tied scores counting as one threshold. Needs a positive.
pub fn average_precision_score(y_true: &[usize], y_score: &[f64]) -> Result<f64> {
    check_lengths("average_precision_score", y_true.len(), y_score.len())?;
    average_precision_score_weighted(y_true, y_score, &vec![1.0; y_true.len()])
}

/// [`average_precision_score`] with scikit-learn's `sample_weight`: precision and recall from
/// sums of weights.
pub fn average_precision_score_weighted(y_true: &[usize], y_score: &[f64], sample_weight: &[f64]) -> Result<f64> {
    check_lengths("average_precision_score", y_true.len(), y_score.len())?;
    check_weights("average_precision_score", y_true.len(), sample_weight)?;
    if let Some(i) = y_true.iter().position(|&t| t > 1) {
        return Err(Error::invalid(format!("average_precision_score: label {i} is {}, expected 0 or 1", y_true[i])));
    }
    if let Some(i) = y_score.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(format!("average_precision_score: score {i} is not finite")));
    }
    let positives: f64 = y_true.iter().zip(sample_weight).filter(|(&t, _)| t == 1).map(|(_, w)| w).sum();
    if positives == 0.0 {
        return Err(Error::invalid(
            "average_precision_score: y_true has no positive sample (or none with weight); recall is undefined",
        ));
    }
    let order = by_score(y_score, sample_weight);
    let (mut tp, mut seen, mut ap, mut recall_before) = (0.0, 0.0, 0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        tp += if y_true[i] == 1 { sample_weight[i] } else { 0.0 };
        seen += sample_weight[i];
        let last_of_tie = k + 1 == order.len() || y_score[order[k + 1]] != y_score[i];
        if last_of_tie {
            let (recall, precision) = (tp / positives, if seen > 0.0 { tp / seen } else { 0.0 });
            ap += (recall - recall_before) * precision;
            recall_before = recall;
        }
    }
    Ok(ap)
}

/// How a classifier sees a set of generated samples (a GAN's mode-collapse check): each
/// sample's top class, how many distinct classes they cover, how evenly, and how sure the
/// classifier is.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleScores {
    /// Samples per top class.
    pub histogram: Vec<usize>,
    /// Classes that are the top class of at least one sample.
    pub classes: usize,
    /// Entropy of the histogram, in bits: log2(number of classes) when the classes are even,
    /// 0 when every sample is one class.
    pub entropy_bits: f64,
    /// The mean of each sample's top-class probability.
    pub confidence: f64,
}

/// Scores samples from a classifier's probabilities `probs`, row-major, one row of
/// `num_classes` per sample.
pub fn sample_scores(probs: &[f32], num_classes: usize) -> Result<SampleScores> {
    if num_classes == 0 || probs.is_empty() || probs.len() % num_classes != 0 {
        return Err(Error::invalid(format!(
            "sample_scores: {} probabilities do not make rows of {num_classes} classes",
            probs.len()
        )));
    }
    if let Some(i) = probs.iter().position(|p| !p.is_finite()) {
        return Err(Error::invalid(format!(
            "sample_scores: sample {} has probability {} for class {}",
            i / num_classes,
            probs[i],
            i % num_classes
        )));
    }
    let n = probs.len() / num_classes;
    let mut histogram = vec![0; num_classes];
    let mut confidence = 0.0;
    for row in probs.chunks_exact(num_classes) {
        let (top, p) = row.iter().enumerate().fold((0, f32::MIN), |b, (k, &p)| if p > b.1 { (k, p) } else { b });
        histogram[top] += 1;
        confidence += f64::from(p);
    }
    let entropy_bits = histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let q = c as f64 / n as f64;
            -q * q.log2()
        })
        .sum();
    Ok(SampleScores {
        classes: histogram.iter().filter(|&&c| c > 0).count(),
        histogram,
        entropy_bits,
        confidence: confidence / n as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_scores_count_classes_entropy_and_confidence() {
        // Four samples: two of class 0, one each of classes 1 and 2; class 3 never wins.
        let probs = [0.9, 0.1, 0.0, 0.0, 0.7, 0.2, 0.1, 0.0, 0.1, 0.6, 0.2, 0.1, 0.0, 0.1, 0.5, 0.4];
        let s = sample_scores(&probs, 4).unwrap();
        assert_eq!(s.histogram, [2, 1, 1, 0]);
        assert_eq!(s.classes, 3);
        assert!((s.entropy_bits - 1.5).abs() < 1e-12, "{}", s.entropy_bits);
        assert!((s.confidence - (0.9 + 0.7 + 0.6 + 0.5) / 4.0).abs() < 1e-6);
        let collapsed = sample_scores(&[0.2, 0.8, 0.1, 0.9], 2).unwrap();
        assert_eq!((collapsed.classes, collapsed.entropy_bits), (1, 0.0));
        assert!(sample_scores(&probs, 3).unwrap_err().to_string().contains("16 probabilities do not make rows of 3"));
        let e = sample_scores(&[0.5, f32::NAN], 2).unwrap_err().to_string();
        assert!(e.contains("sample 0 has probability NaN for class 1"), "{e}");
    }
}
