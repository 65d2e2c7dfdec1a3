//! Multi-label data (issue 20): scikit-learn's `MultiLabelBinarizer` (sets of labels to a 0/1
//! matrix and back) and the multi-label report: subset accuracy, Hamming loss, micro and macro
//! F1, and precision, recall, F1 and support per label, as scikit-learn computes them.

use crate::error::{Error, Result};
use sinew_tensor::Tensor;
use std::fmt;

/// scikit-learn `MultiLabelBinarizer`: the labels seen in `fit`, sorted; `transform` gives one
/// column per label, 1 where the sample has it.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiLabelBinarizer {
    classes: Vec<String>,
}

impl MultiLabelBinarizer {
    pub fn fit(sets: &[Vec<String>]) -> Result<MultiLabelBinarizer> {
        let mut classes: Vec<String> = sets.iter().flatten().cloned().collect();
        classes.sort();
        classes.dedup();
        if classes.is_empty() {
            return Err(Error::invalid("MultiLabelBinarizer.fit: no labels in any sample"));
        }
        Ok(MultiLabelBinarizer { classes })
    }
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// `[samples, labels]`; a label not seen in `fit` is an error naming it and its sample.
    pub fn transform(&self, sets: &[Vec<String>]) -> Result<Tensor> {
        let k = self.classes.len();
        let mut y = vec![0.0f32; sets.len() * k];
        for (i, set) in sets.iter().enumerate() {
            for label in set {
                let j = self.classes.binary_search(label).map_err(|_| {
                    Error::invalid(format!(
                        "MultiLabelBinarizer.transform: sample {i}: label {label:?} was not seen in fit"
                    ))
                })?;
                y[i * k + j] = 1.0;
            }
        }
        Ok(Tensor::from_vec(y, [sets.len(), k]))
    }
    /// The label sets of a `[samples, labels]` matrix of scores, a label kept where its score
    /// reaches `threshold`.
    pub fn inverse_transform(&self, y: &Tensor, threshold: f64) -> Result<Vec<Vec<String>>> {
        let k = self.classes.len();
        if y.rank() != 2 || y.dims()[1] != k {
            return Err(Error::invalid(format!(
                "MultiLabelBinarizer.inverse_transform: expected [samples, {k}], got {:?}",
                y.dims()
            )));
        }
        Ok(y.to_vec_f64()
            .chunks(k)
            .map(|r| (0..k).filter(|&j| r[j] >= threshold).map(|j| self.classes[j].clone()).collect())
            .collect())
    }
}

/// One label's scores.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelScores {
    pub name: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// scikit-learn's multi-label metrics: `accuracy_score` (the share of samples whose whole label
/// set is right), `hamming_loss`, `f1_score` micro and macro averaged, and per label. A label
/// never predicted nor present scores 0 (scikit-learn's `zero_division` default, with its
/// warning left out).
#[derive(Clone, Debug, PartialEq)]
pub struct MultiLabelReport {
    pub subset_accuracy: f64,
    pub hamming_loss: f64,
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub labels: Vec<LabelScores>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// The report for truths `y_true` (0/1) and scores `y_pred` (`[samples, labels]` each), a
/// label predicted where its score reaches `threshold`.
pub fn multilabel_report(
    y_true: &Tensor,
    y_pred: &Tensor,
    names: &[String],
    threshold: f64,
) -> Result<MultiLabelReport> {
    if y_true.rank() != 2 || y_true.dims() != y_pred.dims() || y_true.dims()[0] == 0 {
        return Err(Error::invalid(format!(
            "multilabel_report: truths {:?} and predictions {:?} must be the same [samples, labels], with samples",
            y_true.dims(),
            y_pred.dims()
        )));
    }
    let (n, k) = (y_true.dims()[0], y_true.dims()[1]);
    if names.len() != k {
        return Err(Error::invalid(format!("multilabel_report: {} names for {k} labels", names.len())));
    }
    let truth: Vec<bool> = y_true.to_vec_f64().iter().map(|&v| v >= 0.5).collect();
    let pred: Vec<bool> = y_pred.to_vec_f64().iter().map(|&v| v >= threshold).collect();
    let (mut exact, mut wrong) = (0usize, 0usize);
    let (mut tp, mut fp, mut fn_) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    for i in 0..n {
        let mut all = true;
        for j in 0..k {
            let (t, p) = (truth[i * k + j], pred[i * k + j]);
            match (t, p) {
                (true, true) => tp[j] += 1,
                (false, true) => fp[j] += 1,
                (true, false) => fn_[j] += 1,
                _ => {}
            }
            if t != p {
                all = false;
                wrong += 1;
            }
        }
        exact += usize::from(all);
    }
    let labels: Vec<LabelScores> = (0..k)
        .map(|j| {
            let (p, r) = (ratio(tp[j], tp[j] + fp[j]), ratio(tp[j], tp[j] + fn_[j]));
            LabelScores { name: names[j].clone(), precision: p, recall: r, f1: f1(p, r), support: tp[j] + fn_[j] }
        })
        .collect();
    let (stp, sfp, sfn) = (tp.iter().sum::<usize>(), fp.iter().sum::<usize>(), fn_.iter().sum::<usize>());
    Ok(MultiLabelReport {
        subset_accuracy: exact as f64 / n as f64,
        hamming_loss: wrong as f64 / (n * k) as f64,
        micro_f1: f1(ratio(stp, stp + sfp), ratio(stp, stp + sfn)),
        macro_f1: labels.iter().map(|l| l.f1).sum::<f64>() / k as f64,
        labels,
    })
}

impl fmt::Display for MultiLabelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.labels.iter().map(|l| l.name.len()).max().unwrap_or(5).max(9);
        writeln!(f, "{:>w$} {:>9} {:>9} {:>9} {:>9}", "", "precision", "recall", "f1-score", "support")?;
        for l in &self.labels {
            writeln!(f, "{:>w$} {:>9.2} {:>9.2} {:>9.2} {:>9}", l.name, l.precision, l.recall, l.f1, l.support)?;
        }
        writeln!(f)?;
        writeln!(f, "{:>w$} {:>9.4}", "subset accuracy", self.subset_accuracy, w = w + 10)?;
        writeln!(f, "{:>w$} {:>9.4}", "Hamming loss", self.hamming_loss, w = w + 10)?;
        writeln!(f, "{:>w$} {:>9.4}", "micro F1", self.micro_f1, w = w + 10)?;
        write!(f, "{:>w$} {:>9.4}", "macro F1", self.macro_f1, w = w + 10)
    }
}
