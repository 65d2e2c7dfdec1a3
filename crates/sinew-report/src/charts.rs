//! The charts of the notes' workflow, built from the objects that hold the data: a table's
//! columns (exploration), a `History` (learning curves), a confusion matrix and a ROC curve.

use crate::error::{Error, Result};
use crate::plot::Plot;
use sinew_data::{column_f64, column_str, corr, names, value_counts, DataFrame, RocCurve};
use sinew_train::History;

fn present(df: &DataFrame, col: &str) -> Result<Vec<f64>> {
    Ok(column_f64(df, col)?.into_iter().flatten().collect())
}

/// The distribution of numeric column `col` (pandas `df[col].hist(bins=...)`).
pub fn histogram(df: &DataFrame, col: &str, bins: usize) -> Result<Plot> {
    Ok(Plot::histogram(&format!("Distribution of {col}"), &present(df, col)?, bins).x_label(col))
}

/// How often each value of `col` occurs (seaborn `countplot`), most frequent first.
pub fn count_plot(df: &DataFrame, col: &str) -> Result<Plot> {
    let v = value_counts(df, col)?;
    let labels: Vec<String> = column_str(&v, col)?.into_iter().map(|s| s.unwrap_or_default()).collect();
    let counts: Vec<f64> = column_f64(&v, "count")?.into_iter().map(|c| c.unwrap_or(0.0)).collect();
    Ok(Plot::bars(&format!("Counts of {col}"), &labels, &counts).x_label(col).y_label("count"))
}

/// Column `y` against column `x`, over the rows where both are present.
pub fn scatter_plot(df: &DataFrame, x: &str, y: &str) -> Result<Plot> {
    let (a, b) = (column_f64(df, x)?, column_f64(df, y)?);
    let (xs, ys): (Vec<f64>, Vec<f64>) = a.iter().zip(&b).filter_map(|(p, q)| Some(((*p)?, (*q)?))).unzip();
    Ok(Plot::scatter(&format!("{y} against {x}"), &xs, &ys).x_label(x).y_label(y))
}

/// Box plots of numeric column `col`, one per value of `by` (seaborn `boxplot(x=by, y=col)`),
/// or a single box without `by`.
pub fn box_plot(df: &DataFrame, col: &str, by: Option<&str>) -> Result<Plot> {
    let values = column_f64(df, col)?;
    let Some(by) = by else {
        let all: Vec<f64> = values.into_iter().flatten().collect();
        return Ok(Plot::boxes(col, &[col.to_string()], &[all]).y_label(col));
    };
    let keys = column_str(df, by)?;
    let mut groups: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (k, v) in keys.into_iter().zip(values) {
        if let (Some(k), Some(v)) = (k, v) {
            groups.entry(k).or_default().push(v);
        }
    }
    let (labels, groups): (Vec<String>, Vec<Vec<f64>>) = groups.into_iter().unzip();
    Ok(Plot::boxes(&format!("{col} by {by}"), &labels, &groups).x_label(by).y_label(col))
}

/// The Pearson correlation matrix of the numeric columns as a heatmap (seaborn
/// `heatmap(df.corr(), annot=True)`), coloured from -1 (blue) to 1 (red).
pub fn correlation_heatmap(df: &DataFrame) -> Result<Plot> {
    let c = corr(df)?;
    let cols: Vec<String> = names(&c)[1..].to_vec();
    let mut values = Vec::with_capacity(cols.len() * cols.len());
    let data = cols.iter().map(|n| column_f64(&c, n)).collect::<sinew_data::Result<Vec<_>>>()?;
    for i in 0..cols.len() {
        for col in &data {
            values.push(col[i].unwrap_or(f64::NAN));
        }
    }
    Ok(Plot::heatmap("Correlation matrix", &cols, &cols, &values, (-1.0, 1.0)))
}

/// One chart per metric of a `History`: the metric and its `val_` counterpart against the epoch
/// (1-based, as Keras prints it), the notes' `pd.DataFrame(history.history).plot()`.
pub fn learning_curves(history: &History) -> Vec<Plot> {
    let epochs: Vec<f64> = history.epoch.iter().map(|&e| (e + 1) as f64).collect();
    let series: Vec<(&str, &[f64])> = history.keys().map(|k| (k, history.get(k).unwrap_or_default())).collect();
    learning_curves_of(&epochs, &series)
}

/// [`learning_curves`] from named per-epoch series (what a run record keeps).
pub fn learning_curves_of(epochs: &[f64], series: &[(&str, &[f64])]) -> Vec<Plot> {
    series
        .iter()
        .filter(|(k, _)| !k.starts_with("val_"))
        .map(|&(k, v)| {
            let mut p = Plot::lines(&format!("Learning curve: {k}")).x_label("epoch").y_label(k).series(k, epochs, v);
            let val = format!("val_{k}");
            if let Some((_, vv)) = series.iter().find(|(n, _)| *n == val) {
                p = p.series(&val, epochs, vv);
            }
            p
        })
        .collect()
}

/// A confusion matrix (rows true, columns predicted) as an annotated heatmap.
pub fn confusion_matrix_plot(matrix: &[Vec<usize>], class_names: &[String]) -> Result<Plot> {
    let k = matrix.len();
    if class_names.len() != k || matrix.iter().any(|r| r.len() != k) {
        return Err(Error::invalid(format!(
            "confusion_matrix_plot: a {k}-row matrix needs {k} columns per row and {k} class names, got {} names",
            class_names.len()
        )));
    }
    let values: Vec<f64> = matrix.iter().flatten().map(|&c| c as f64).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    Ok(Plot::heatmap("Confusion matrix", class_names, class_names, &values, (0.0, max.max(1.0)))
        .x_label("predicted")
        .y_label("true"))
}

/// The ROC curve with its AUC in the legend, and the chance diagonal.
pub fn roc_plot(curve: &RocCurve) -> Plot {
    Plot::lines("ROC curve")
        .series(&format!("ROC (AUC = {:.3})", curve.auc()), &curve.fpr, &curve.tpr)
        .series("chance", &[0.0, 1.0], &[0.0, 1.0])
        .x_label("false positive rate")
        .y_label("true positive rate")
}
