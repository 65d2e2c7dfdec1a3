//! Evaluation reports in scikit-learn's layout: the confusion matrix, `classification_report`,
//! the ROC curve and its AUC, and a regression report. Labels are class ids `0..num_classes`.

use crate::error::{Error, Result};
use std::fmt;

fn check_lengths(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::invalid(format!("{what}: y_true has {a} labels but y_pred has {b}")));
    }
    if a == 0 {
        return Err(Error::invalid(format!("{what}: no samples")));
    }
    Ok(())
}

/// scikit-learn `confusion_matrix`: `m[t][p]` counts samples of true class `t` predicted as `p`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], num_classes: usize) -> Result<Vec<Vec<usize>>> {
    check_lengths("confusion_matrix", y_true.len(), y_pred.len())?;
    let mut m = vec![vec![0usize; num_classes]; num_classes];
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        if t >= num_classes || p >= num_classes {
            return Err(Error::invalid(format!(
                "confusion_matrix: sample {i} has labels {t} (true) and {p} (predicted), expected ids below {num_classes}"
            )));
        }
        m[t][p] += 1;
    }
    Ok(m)
}

/// Precision, recall, F1 and support of one class or average.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
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
    let m = confusion_matrix(y_true, y_pred, num_classes)?;
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
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let classes: Vec<ClassScores> = (0..num_classes)
        .map(|c| {
            let tp = m[c][c];
            let predicted: usize = (0..num_classes).map(|t| m[t][c]).sum();
            let support: usize = m[c].iter().sum();
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            ClassScores { precision, recall, f1, support }
        })
        .collect();
    let n = y_true.len();
    let correct: usize = (0..num_classes).map(|c| m[c][c]).sum();
    let mean = |f: &dyn Fn(&ClassScores) -> f64| classes.iter().map(f).sum::<f64>() / num_classes as f64;
    let weighted =
        |f: &dyn Fn(&ClassScores) -> f64| classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / n as f64;
    Ok(ClassificationReport {
        names,
        accuracy: correct as f64 / n as f64,
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
    if let Some(i) = y_true.iter().chain(y_pred).position(|v| !v.is_finite()) {
        let (which, j) = if i < y_true.len() { ("y_true", i) } else { ("y_pred", i - y_true.len()) };
        return Err(Error::invalid(format!("regression_report: {which}[{j}] is not finite")));
    }
    let n = y_true.len() as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let err: Vec<f64> = y_true.iter().zip(y_pred).map(|(t, p)| t - p).collect();
    let mae = err.iter().map(|e| e.abs()).sum::<f64>() / n;
    let mse = err.iter().map(|e| e * e).sum::<f64>() / n;
    let mt = mean(y_true);
    let var_t = y_true.iter().map(|t| (t - mt).powi(2)).sum::<f64>() / n;
    let me = mean(&err);
    let var_e = err.iter().map(|e| (e - me).powi(2)).sum::<f64>() / n;
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

/// scikit-learn `roc_curve` for labels 0/1 and scores (higher means class 1). Both classes must
/// be present, and scores must be finite.
pub fn roc_curve(y_true: &[usize], y_score: &[f64]) -> Result<RocCurve> {
    check_lengths("roc_curve", y_true.len(), y_score.len())?;
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
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    // Cumulative true and false positives at the last index of each distinct score.
    let (mut tps, mut fps, mut thr) = (vec![], vec![], vec![]);
    let mut tp = 0usize;
    for (k, &i) in order.iter().enumerate() {
        tp += y_true[i];
        let last = k + 1 == order.len() || y_score[order[k + 1]] != y_score[i];
        if last {
            tps.push(tp as f64);
            fps.push((k + 1 - tp) as f64);
            thr.push(y_score[i]);
        }
    }
    // Drop points collinear with their neighbours (scikit-learn's drop_intermediate).
    let keep: Vec<usize> = (0..tps.len())
        .filter(|&i| {
            i == 0 || i + 1 == tps.len() || {
                let d2 = |v: &[f64]| v[i + 1] - 2.0 * v[i] + v[i - 1];
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

/// scikit-learn `average_precision_score` (the area under the precision-recall curve as a step
/// function, no interpolation) for labels 0/1 and scores: `sum_k (R_k - R_{k-1}) P_k` over the
/// distinct scores from the highest, tied scores counting as one threshold. Needs a positive.
pub fn average_precision_score(y_true: &[usize], y_score: &[f64]) -> Result<f64> {
    check_lengths("average_precision_score", y_true.len(), y_score.len())?;
    if let Some(i) = y_true.iter().position(|&t| t > 1) {
        return Err(Error::invalid(format!("average_precision_score: label {i} is {}, expected 0 or 1", y_true[i])));
    }
    if let Some(i) = y_score.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(format!("average_precision_score: score {i} is not finite")));
    }
    let positives = y_true.iter().filter(|&&t| t == 1).count();
    if positives == 0 {
        return Err(Error::invalid("average_precision_score: y_true has no positive sample; recall is undefined"));
    }
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    let (mut tp, mut ap, mut recall_before) = (0usize, 0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        tp += y_true[i];
        let last_of_tie = k + 1 == order.len() || y_score[order[k + 1]] != y_score[i];
        if last_of_tie {
            let (recall, precision) = (tp as f64 / positives as f64, tp as f64 / (k + 1) as f64);
            ap += (recall - recall_before) * precision;
            recall_before = recall;
        }
    }
    Ok(ap)
}
