//! Exploration tables, as pandas prints them: `describe()`, the missing-value report
//! (`isnull().sum()`), `value_counts()` and the Pearson correlation matrix (`corr()`). Each returns
//! a `DataFrame`, which prints as a table and can be written or plotted.

use crate::error::{Error, Result};
use crate::frame::{column_f64, column_str, names};
use polars::prelude::{Column, DataFrame};

/// The numeric columns of `df` (integers and floats), in order.
pub fn numeric_columns(df: &DataFrame) -> Vec<String> {
    df.columns().iter().filter(|c| c.dtype().is_primitive_numeric()).map(|c| c.name().to_string()).collect()
}

fn frame(height: usize, cols: Vec<Column>, what: &str) -> Result<DataFrame> {
    DataFrame::new(height, cols).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

/// The `q` quantile of sorted `v`, interpolated linearly (numpy's and pandas' default).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The statistics [`describe`] reports for one column's present values.
pub(crate) fn summary(values: &[Option<f64>]) -> [f64; 8] {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let (min, max) = (v.first().copied().unwrap_or(f64::NAN), v.last().copied().unwrap_or(f64::NAN));
    [n, mean, std, min, quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75), max]
}

/// pandas `df.describe()`: for each numeric column, the count of present values, mean, sample
/// standard deviation (ddof = 1), min, quartiles and max. The first column names the statistic.
pub fn describe(df: &DataFrame) -> Result<DataFrame> {
    let numeric = numeric_columns(df);
    if numeric.is_empty() {
        return Err(Error::invalid(format!("describe: no numeric columns in {:?}", names(df))));
    }
    let stats = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];
    let mut cols = vec![Column::new("statistic".into(), stats.to_vec())];
    for name in &numeric {
        cols.push(Column::new(name.as_str().into(), summary(&column_f64(df, name)?).to_vec()));
    }
    frame(stats.len(), cols, "describe")
}

/// The missing values of every column (pandas `df.isnull().sum()`), with their share in percent.
pub fn missing_values(df: &DataFrame) -> Result<DataFrame> {
    let n = df.height().max(1) as f64;
    let counts: Vec<u64> = df.columns().iter().map(|c| c.null_count() as u64).collect();
    let percent: Vec<f64> = counts.iter().map(|&c| 100.0 * c as f64 / n).collect();
    let cols = vec![
        Column::new("column".into(), names(df)),
        Column::new("missing".into(), counts),
        Column::new("percent".into(), percent),
    ];
    frame(df.width(), cols, "missing_values")
}

/// pandas `df[col].value_counts()`: each present value and how often it occurs, most frequent
/// first (ties in value order).
pub fn value_counts(df: &DataFrame, col: &str) -> Result<DataFrame> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for v in column_str(df, col)?.into_iter().flatten() {
        *counts.entry(v).or_default() += 1;
    }
    let mut pairs: Vec<(String, u64)> = counts.into_iter().collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
    let (values, counts): (Vec<String>, Vec<u64>) = pairs.into_iter().unzip();
    let n = values.len();
    frame(n, vec![Column::new(col.into(), values), Column::new("count".into(), counts)], "value_counts")
}

/// Pearson correlation of `a` and `b` over the rows where both are present (pandas'
/// pairwise-complete rule); NaN when either is constant there.
pub fn pearson(a: &[Option<f64>], b: &[Option<f64>]) -> f64 {
    let pairs: Vec<(f64, f64)> = a.iter().zip(b).filter_map(|(x, y)| Some(((*x)?, (*y)?))).collect();
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

/// pandas `df.corr()` over the numeric columns: the Pearson correlation matrix, with a first
/// column naming the rows.
pub fn corr(df: &DataFrame) -> Result<DataFrame> {
    let numeric = numeric_columns(df);
    if numeric.is_empty() {
        return Err(Error::invalid(format!("corr: no numeric columns in {:?}", names(df))));
    }
    let data = numeric.iter().map(|c| column_f64(df, c)).collect::<Result<Vec<_>>>()?;
    let mut cols = vec![Column::new("column".into(), numeric.clone())];
    for (j, name) in numeric.iter().enumerate() {
        let r: Vec<f64> = data.iter().map(|d| pearson(d, &data[j])).collect();
        cols.push(Column::new(name.as_str().into(), r));
    }
    frame(numeric.len(), cols, "corr")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{read_csv, CsvOptions};

    #[test]
    fn eda_tables_on_a_small_frame() {
        let p = std::env::temp_dir().join(format!("sinew-eda-{}.csv", std::process::id()));
        std::fs::write(&p, "a,b,c\n1,2,x\n2,,y\n3,6,x\n4,8,x\n").unwrap();
        let df = read_csv(&p, &CsvOptions::new()).unwrap();
        let d = describe(&df).unwrap();
        assert_eq!(names(&d), ["statistic", "a", "b"]);
        let a = column_f64(&d, "a").unwrap();
        assert_eq!(a[0], Some(4.0));
        assert_eq!(a[1], Some(2.5));
        assert_eq!(a[4], Some(1.75));
        assert!((a[2].unwrap() - 1.2909944487358056).abs() < 1e-12);
        let m = missing_values(&df).unwrap();
        assert_eq!(column_f64(&m, "missing").unwrap(), [Some(0.0), Some(1.0), Some(0.0)]);
        let v = value_counts(&df, "c").unwrap();
        assert_eq!(column_str(&v, "c").unwrap(), [Some("x".into()), Some("y".into())]);
        assert_eq!(column_f64(&v, "count").unwrap(), [Some(3.0), Some(1.0)]);
        let c = corr(&df).unwrap();
        // Pairwise complete: a and b over rows 0, 2, 3 are exactly linear (b = 2a).
        assert!((column_f64(&c, "b").unwrap()[0].unwrap() - 1.0).abs() < 1e-12);
        assert!(value_counts(&df, "nope").unwrap_err().message.contains("no column \"nope\""));
    }
}
