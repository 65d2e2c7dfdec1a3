//! scikit-learn-style imputation and categorical encoding: `SimpleImputer` on numeric
//! `[samples, features]` tensors (NaN marks a missing value), `LabelEncoder` and `OneHotEncoder`
//! on string columns. Fitted transforms serialise to JSON.

use crate::error::{Error, Result};
use crate::preprocessing::{check_features, floats};
use serde_json::{json, Value};
use sinew_tensor::Tensor;

/// What a [`SimpleImputer`] fills a missing value with, per column (scikit-learn's `strategy`).
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    Mean,
    Median,
    /// The most frequent value; ties go to the smallest, as in scikit-learn.
    MostFrequent,
    Constant(f64),
}

/// scikit-learn `SimpleImputer`: replaces NaN with a per-column statistic of the training data.
/// A column with no observed value is an error naming it (scikit-learn drops such columns with
/// a warning; silently changing the column count is what sinew avoids).
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleImputer {
    pub strategy: Strategy,
    pub statistics: Vec<f64>,
}

impl SimpleImputer {
    pub fn fit(x: &Tensor, strategy: Strategy) -> Result<Self> {
        if x.rank() != 2 {
            return Err(Error::invalid(format!(
                "SimpleImputer.fit: expected [samples, features], got shape {:?}",
                x.dims()
            )));
        }
        let d = x.dims()[1];
        let v = x.to_vec_f64();
        if let Some(i) = v.iter().position(|v| v.is_infinite()) {
            return Err(Error::invalid(format!(
                "SimpleImputer.fit: value at row {}, column {} is infinite",
                i / d,
                i % d
            ))
            .at_row(i / d));
        }
        let mut statistics = Vec::with_capacity(d);
        for j in 0..d {
            let mut col: Vec<f64> = v.iter().skip(j).step_by(d).copied().filter(|v| !v.is_nan()).collect();
            if let Strategy::Constant(c) = strategy {
                statistics.push(c);
                continue;
            }
            if col.is_empty() {
                return Err(Error::invalid(format!("SimpleImputer.fit: column {j} has no observed values")));
            }
            col.sort_by(f64::total_cmp);
            let n = col.len();
            statistics.push(match strategy {
                Strategy::Mean => col.iter().sum::<f64>() / n as f64,
                Strategy::Median if n % 2 == 1 => col[n / 2],
                Strategy::Median => (col[n / 2 - 1] + col[n / 2]) / 2.0,
                Strategy::MostFrequent => {
                    // Sorted, so runs of equal values are adjacent; the first longest run wins.
                    let (mut best, mut best_len, mut i) = (col[0], 0, 0);
                    while i < n {
                        let run = col[i..].iter().take_while(|&&v| v == col[i]).count();
                        if run > best_len {
                            (best, best_len) = (col[i], run);
                        }
                        i += run;
                    }
                    best
                }
                Strategy::Constant(_) => unreachable!("handled above"),
            });
        }
        Ok(SimpleImputer { strategy, statistics })
    }
    /// `x` with every NaN in column `j` replaced by `statistics[j]`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.statistics.len();
        check_features("SimpleImputer.transform", d, x)?;
        let v: Vec<f64> = x
            .to_vec_f64()
            .iter()
            .enumerate()
            .map(|(i, &v)| if v.is_nan() { self.statistics[i % d] } else { v })
            .collect();
        Ok(Tensor::from_vec_f64(v, x.dims()).to_dtype(x.dtype()))
    }
    pub fn to_json(&self) -> Value {
        let strategy = match self.strategy {
            Strategy::Mean => json!("mean"),
            Strategy::Median => json!("median"),
            Strategy::MostFrequent => json!("most_frequent"),
            Strategy::Constant(c) => json!({"constant": c}),
        };
        json!({"class_name": "SimpleImputer", "strategy": strategy, "statistics": self.statistics})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let strategy = match (&v["strategy"], v["strategy"]["constant"].as_f64()) {
            (_, Some(c)) => Strategy::Constant(c),
            (s, None) => match s.as_str() {
                Some("mean") => Strategy::Mean,
                Some("median") => Strategy::Median,
                Some("most_frequent") => Strategy::MostFrequent,
                _ => return Err(Error::invalid(format!("SimpleImputer config: unknown strategy {}", v["strategy"]))),
            },
        };
        let statistics = floats(v, "SimpleImputer", "statistics")?;
        Ok(SimpleImputer { strategy, statistics })
    }
}

/// A JSON list of strings, or `None` if it is not one.
pub(crate) fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|s| s.as_str().map(String::from)).collect()
}

fn sorted_unique(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

/// scikit-learn `LabelEncoder`: strings to ids in sorted order of the classes seen at fit time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelEncoder {
    pub classes: Vec<String>,
}

impl LabelEncoder {
    pub fn fit(values: &[String]) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::invalid("LabelEncoder.fit: no values"));
        }
        Ok(LabelEncoder { classes: sorted_unique(values) })
    }
    /// Ids of `values`; a value unseen at fit time is an error naming it and its row.
    pub fn transform(&self, values: &[String]) -> Result<Vec<usize>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                self.classes.binary_search(v).map_err(|_| {
                    Error::invalid(format!(
                        "LabelEncoder.transform: row {i} has {v:?}, unseen at fit time (classes {:?})",
                        self.classes
                    ))
                    .at_row(i)
                })
            })
            .collect()
    }
    pub fn to_json(&self) -> Value {
        json!({"class_name": "LabelEncoder", "classes": self.classes})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let classes = string_list(&v["classes"]).filter(|c| !c.is_empty()).ok_or_else(|| {
            Error::invalid(format!("LabelEncoder config: classes must be a non-empty list of strings in {v}"))
        })?;
        Ok(LabelEncoder { classes })
    }
    pub fn inverse_transform(&self, ids: &[usize]) -> Result<Vec<String>> {
        ids.iter()
            .map(|&i| {
                self.classes.get(i).cloned().ok_or_else(|| {
                    Error::invalid(format!(
                        "LabelEncoder.inverse_transform: id {i} is not below {}",
                        self.classes.len()
                    ))
                })
            })
            .collect()
    }
}

/// What [`OneHotEncoder`] does with a category unseen at fit time (scikit-learn's
/// `handle_unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleUnknown {
    /// An error naming the column, the row and the value.
    Error,
    /// All of that column's indicator columns are 0.
    Ignore,
}

/// scikit-learn `OneHotEncoder` over string columns (pandas `get_dummies` with `drop_first` is
/// `drop_first = true`): each column's sorted categories become 0/1 indicator columns, named
/// `column_category`.
#[derive(Clone, Debug, PartialEq)]
pub struct OneHotEncoder {
    pub columns: Vec<String>,
    pub categories: Vec<Vec<String>>,
    pub drop_first: bool,
    pub handle_unknown: HandleUnknown,
}

impl OneHotEncoder {
    /// Fits on `data[j]`, the values of column `columns[j]`, all of the same length.
    pub fn fit(
        columns: &[&str],
        data: &[Vec<String>],
        drop_first: bool,
        handle_unknown: HandleUnknown,
    ) -> Result<Self> {
        if columns.len() != data.len() || data.is_empty() {
            return Err(Error::invalid(format!(
                "OneHotEncoder.fit: {} column names for {} columns",
                columns.len(),
                data.len()
            )));
        }
        let n = data[0].len();
        if let Some(j) = data.iter().position(|c| c.len() != n) {
            return Err(Error::invalid(format!(
                "OneHotEncoder.fit: column {:?} has {} rows, expected {n}",
                columns[j],
                data[j].len()
            )));
        }
        Ok(OneHotEncoder {
            columns: columns.iter().map(|s| s.to_string()).collect(),
            categories: data.iter().map(|c| sorted_unique(c)).collect(),
            drop_first,
            handle_unknown,
        })
    }
    /// The names of the output columns, `column_category`.
    pub fn feature_names(&self) -> Vec<String> {
        let skip = usize::from(self.drop_first);
        self.columns
            .iter()
            .zip(&self.categories)
            .flat_map(|(c, cats)| cats.iter().skip(skip).map(move |k| format!("{c}_{k}")))
            .collect()
    }
    pub fn to_json(&self) -> Value {
        json!({"class_name": "OneHotEncoder", "columns": self.columns, "categories": self.categories,
               "drop_first": self.drop_first, "handle_unknown": match self.handle_unknown {
                   HandleUnknown::Error => "error", HandleUnknown::Ignore => "ignore" }})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let bad = |what: &str| Error::invalid(format!("OneHotEncoder config: {what} in {v}"));
        let columns = string_list(&v["columns"]).ok_or_else(|| bad("columns are not strings"))?;
        let categories = v["categories"]
            .as_array()
            .and_then(|a| a.iter().map(string_list).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad("categories are not lists of strings"))?;
        if categories.len() != columns.len() {
            return Err(bad("categories and columns differ in length"));
        }
        let handle_unknown = match v["handle_unknown"].as_str() {
            Some("error") => HandleUnknown::Error,
            Some("ignore") => HandleUnknown::Ignore,
            _ => return Err(bad("handle_unknown is neither \"error\" nor \"ignore\"")),
        };
        let drop_first = v["drop_first"].as_bool().ok_or_else(|| bad("drop_first is not a bool"))?;
        Ok(OneHotEncoder { columns, categories, drop_first, handle_unknown })
    }
    /// Indicator columns `[rows, feature_names().len()]`.
    pub fn transform(&self, data: &[Vec<String>]) -> Result<Tensor> {
        if data.len() != self.columns.len() {
            return Err(Error::invalid(format!(
                "OneHotEncoder.transform: fitted on {} columns, got {}",
                self.columns.len(),
                data.len()
            )));
        }
        let n = data[0].len();
        let skip = usize::from(self.drop_first);
        let width: usize = self.categories.iter().map(|c| c.len() - skip.min(c.len())).sum();
        let mut out = vec![0f32; n * width];
        let mut base = 0;
        for (j, (col, cats)) in data.iter().zip(&self.categories).enumerate() {
            // Fitted categories are sorted; slots a stream filled later may not be.
            let sorted = cats.windows(2).all(|w| w[0] < w[1]);
            let find =
                |v: &String| if sorted { cats.binary_search(v) } else { cats.iter().position(|c| c == v).ok_or(0) };
            if col.len() != n {
                return Err(Error::invalid(format!(
                    "OneHotEncoder.transform: column {:?} has {} rows, expected {n}",
                    self.columns[j],
                    col.len()
                )));
            }
            for (i, v) in col.iter().enumerate() {
                match find(v) {
                    Ok(k) if k >= skip => out[i * width + base + k - skip] = 1.0,
                    Ok(_) => {}
                    Err(_) if self.handle_unknown == HandleUnknown::Ignore => {}
                    Err(_) => {
                        return Err(Error::invalid(format!(
                            "OneHotEncoder.transform: column {:?}, row {i} has category {v:?}, unseen at fit time",
                            self.columns[j]
                        ))
                        .at_row(i))
                    }
                }
            }
            base += cats.len() - skip.min(cats.len());
        }
        Ok(Tensor::from_vec(out, [n, width]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn label_encoder_sorts_classes_and_names_unseen_values() {
        let e = LabelEncoder::fit(&s(&["paris", "tokyo", "amsterdam", "tokyo"])).unwrap();
        assert_eq!(e.classes, s(&["amsterdam", "paris", "tokyo"]));
        assert_eq!(e.transform(&s(&["tokyo", "amsterdam"])).unwrap(), vec![2, 0]);
        assert_eq!(e.inverse_transform(&[1]).unwrap(), s(&["paris"]));
        assert_eq!(LabelEncoder::from_json(&e.to_json()).unwrap(), e);
        let err = e.transform(&s(&["paris", "rome"])).unwrap_err();
        assert!(err.message.contains("row 1 has \"rome\", unseen at fit time"), "{}", err.message);
    }

    #[test]
    fn one_hot_encoder_drop_first_and_unknown_categories() {
        let data = vec![s(&["red", "blue", "red"]), s(&["S", "M", "L"])];
        let e = OneHotEncoder::fit(&["color", "size"], &data, false, HandleUnknown::Error).unwrap();
        assert_eq!(e.feature_names(), s(&["color_blue", "color_red", "size_L", "size_M", "size_S"]));
        assert_eq!(
            e.transform(&data).unwrap().to_vec_f32(),
            vec![0., 1., 0., 0., 1., 1., 0., 0., 1., 0., 0., 1., 1., 0., 0.]
        );
        assert_eq!(OneHotEncoder::from_json(&e.to_json()).unwrap(), e);
        let d = OneHotEncoder::fit(&["color", "size"], &data, true, HandleUnknown::Ignore).unwrap();
        assert_eq!(d.feature_names(), s(&["color_red", "size_M", "size_S"]));
        let new = vec![s(&["green"]), s(&["M"])];
        assert_eq!(d.transform(&new).unwrap().to_vec_f32(), vec![0., 1., 0.]);
        let err = e.transform(&new).unwrap_err();
        assert!(
            err.message.contains("column \"color\", row 0 has category \"green\", unseen at fit time"),
            "{}",
            err.message
        );
    }

    #[test]
    fn simple_imputer_strategies_like_scikit_learn() {
        let nan = f32::NAN;
        // Column 0: 1, 2, NaN, 2, 7 -> mean 3, median 2, most frequent 2.
        // Column 1: NaN, 4, 4, 5, 5 -> mean 4.5, median 4.5, most frequent 4 (tie: smallest).
        let x = Tensor::from_vec(vec![1., nan, 2., 4., nan, 4., 2., 5., 7., 5.], [5, 2]);
        let fill = |s: Strategy| SimpleImputer::fit(&x, s).unwrap().transform(&x).unwrap().to_vec_f32();
        assert_eq!(fill(Strategy::Mean)[1], 4.5);
        assert_eq!(fill(Strategy::Mean)[4], 3.0);
        assert_eq!(fill(Strategy::Median)[4], 2.0);
        assert_eq!(fill(Strategy::MostFrequent)[1], 4.0);
        assert_eq!(fill(Strategy::Constant(-1.0))[1], -1.0);
        let imp = SimpleImputer::fit(&x, Strategy::Median).unwrap();
        assert_eq!(SimpleImputer::from_json(&imp.to_json()).unwrap(), imp);
        let empty = Tensor::from_vec(vec![1., nan, 2., nan], [2, 2]);
        assert_eq!(
            SimpleImputer::fit(&empty, Strategy::Mean).unwrap_err().message,
            "SimpleImputer.fit: column 1 has no observed values"
        );
        assert!(imp.transform(&Tensor::zeros([2, 3])).unwrap_err().message.contains("fitted on 2 features"));
    }
}
