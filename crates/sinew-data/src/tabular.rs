//! [`Preprocessor`]: scikit-learn's `ColumnTransformer` for the notes' tabular recipe. Numeric
//! columns are imputed and scaled, categorical ones filled and one-hot encoded, and the result is
//! one `[rows, features]` tensor. The fitted form serialises to JSON, so it can be saved inside the
//! model file and applied to raw rows at predict time.

use crate::encoding::{string_list, HandleUnknown, OneHotEncoder, SimpleImputer, Strategy};
use crate::error::{Error, Result};
use crate::frame::{column_f64, column_str, names};
use crate::preprocessing::{MinMaxScaler, StandardScaler};
use polars::prelude::DataFrame;
use serde_json::{json, Value};
use sinew_tensor::Tensor;

/// How numeric columns are scaled after imputation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    None,
    /// [`StandardScaler`].
    Standard,
    /// [`MinMaxScaler`] to [0, 1].
    MinMax,
}

/// What a missing categorical value becomes before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CategoryFill {
    /// The column's most frequent training category (ties: the smallest).
    MostFrequent,
    /// A category of its own, such as `"missing"`.
    Constant(String),
}

#[derive(Clone, Debug)]
struct NumericSpec {
    columns: Vec<String>,
    impute: Strategy,
    scaling: Scaling,
}

#[derive(Clone, Debug)]
struct CategoricalSpec {
    columns: Vec<String>,
    fill: CategoryFill,
    drop_first: bool,
    handle_unknown: HandleUnknown,
}

/// The unfitted column recipe. Output features come in the order the groups were added.
#[derive(Clone, Debug, Default)]
pub struct Preprocessor {
    numeric: Vec<NumericSpec>,
    categorical: Vec<CategoricalSpec>,
    order: Vec<(bool, usize)>,
}

impl Preprocessor {
    pub fn new() -> Self {
        Self::default()
    }
    /// Numeric columns: missing values (and NaN) filled by `impute`, then `scaling`.
    pub fn numeric(mut self, columns: &[&str], impute: Strategy, scaling: Scaling) -> Self {
        self.order.push((true, self.numeric.len()));
        self.numeric.push(NumericSpec { columns: strings(columns), impute, scaling });
        self
    }
    /// Categorical columns: missing values filled by `fill`, then one indicator column per
    /// category (`drop_first` drops each column's first category, as `get_dummies` does).
    pub fn categorical(
        mut self,
        columns: &[&str],
        fill: CategoryFill,
        drop_first: bool,
        handle_unknown: HandleUnknown,
    ) -> Self {
        self.order.push((false, self.categorical.len()));
        self.categorical.push(CategoricalSpec { columns: strings(columns), fill, drop_first, handle_unknown });
        self
    }
    /// Learns every statistic from `df` (the training rows only).
    pub fn fit(&self, df: &DataFrame) -> Result<FittedPreprocessor> {
        if self.order.is_empty() {
            return Err(Error::invalid("Preprocessor.fit: no column groups were added"));
        }
        let mut steps = vec![];
        for &(numeric, i) in &self.order {
            steps.push(if numeric {
                let spec = &self.numeric[i];
                let x = numeric_block(df, &spec.columns, "Preprocessor.fit")?;
                let imputer = SimpleImputer::fit(&x, spec.impute.clone())?;
                let x = imputer.transform(&x)?;
                let scaler = match spec.scaling {
                    Scaling::None => None,
                    Scaling::Standard => Some(Scaler::Standard(StandardScaler::fit(&x)?)),
                    Scaling::MinMax => Some(Scaler::MinMax(MinMaxScaler::fit(&x)?)),
                };
                Step::Numeric { columns: spec.columns.clone(), imputer, scaler }
            } else {
                let spec = &self.categorical[i];
                let raw = text_block(df, &spec.columns, "Preprocessor.fit")?;
                let fill: Vec<String> = raw
                    .iter()
                    .map(|col| match &spec.fill {
                        CategoryFill::Constant(c) => c.clone(),
                        CategoryFill::MostFrequent => most_frequent(col),
                    })
                    .collect();
                let data = filled(raw, &fill);
                let cols: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
                let encoder = OneHotEncoder::fit(&cols, &data, spec.drop_first, spec.handle_unknown)?;
                Step::Categorical { fill, encoder }
            });
        }
        Ok(FittedPreprocessor { steps })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Scaler {
    Standard(StandardScaler),
    MinMax(MinMaxScaler),
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Numeric { columns: Vec<String>, imputer: SimpleImputer, scaler: Option<Scaler> },
    Categorical { fill: Vec<String>, encoder: OneHotEncoder },
}

/// A fitted [`Preprocessor`]: raw table in, model features out.
#[derive(Clone, Debug, PartialEq)]
pub struct FittedPreprocessor {
    steps: Vec<Step>,
}

impl FittedPreprocessor {
    /// The `[rows, features]` tensor for `df`, which needs every fitted column (others are
    /// ignored). A missing column, an infinite value, text in a numeric column, or (with
    /// `HandleUnknown::Error`) an unseen category is an error naming the column and the row.
    pub fn transform(&self, df: &DataFrame) -> Result<Tensor> {
        let mut parts = vec![];
        for step in &self.steps {
            parts.push(match step {
                Step::Numeric { columns, imputer, scaler } => {
                    let x = imputer.transform(&numeric_block(df, columns, "Preprocessor.transform")?)?;
                    match scaler {
                        None => x,
                        Some(Scaler::Standard(s)) => s.transform(&x)?,
                        Some(Scaler::MinMax(s)) => s.transform(&x)?,
                    }
                }
                Step::Categorical { fill, encoder } => {
                    let raw = text_block(df, &encoder.columns, "Preprocessor.transform")?;
                    encoder.transform(&filled(raw, fill))?
                }
            });
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        Ok(Tensor::concat(&refs, 1))
    }
    /// Every category in `df` that the fit did not see: `(column, row, value)`, rows counted
    /// from 0 over the data rows, in column then row order. An encoder that ignores unknown
    /// categories encodes them as all zeros; this says which were.
    pub fn unknown_categories(&self, df: &DataFrame) -> Result<Vec<(String, usize, String)>> {
        let mut out = vec![];
        for step in &self.steps {
            if let Step::Categorical { fill, encoder } = step {
                let data = filled(text_block(df, &encoder.columns, "Preprocessor.unknown_categories")?, fill);
                for ((column, known), values) in encoder.columns.iter().zip(&encoder.categories).zip(&data) {
                    for (row, v) in values.iter().enumerate().filter(|(_, v)| !known.contains(v)) {
                        out.push((column.clone(), row, v.clone()));
                    }
                }
            }
        }
        Ok(out)
    }
    /// Reserves `slots` more one-hot columns for each categorical column, each to be taken by a
    /// category first seen after the fit ([`FittedPreprocessor::grow_categories`]): a stream's
    /// category list grows while the model's input width stays fixed. A free slot encodes
    /// nothing (its indicator is 0) until a category takes it.
    pub fn reserve_categories(&mut self, slots: usize) {
        for step in &mut self.steps {
            if let Step::Categorical { encoder, .. } = step {
                for cats in &mut encoder.categories {
                    let start = cats.len();
                    cats.extend((start..start + slots).map(|i| format!("{FREE_SLOT}{i}")));
                }
            }
        }
    }
    /// Gives each category of `df` that its column does not know the column's next free slot
    /// while one is left; returns what was added, as (column, row, value), rows counted from 0.
    /// Categories past the last slot stay unknown (see [`FittedPreprocessor::unknown_categories`]).
    pub fn grow_categories(&mut self, df: &DataFrame) -> Result<Vec<(String, usize, String)>> {
        let mut added = vec![];
        for step in &mut self.steps {
            if let Step::Categorical { fill, encoder } = step {
                let data = filled(text_block(df, &encoder.columns, "Preprocessor.grow_categories")?, fill);
                for ((column, cats), values) in encoder.columns.iter().zip(&mut encoder.categories).zip(&data) {
                    for (row, v) in values.iter().enumerate() {
                        if cats.contains(v) {
                            continue;
                        }
                        if let Some(slot) = cats.iter().position(|c| c.starts_with(FREE_SLOT)) {
                            cats[slot] = v.clone();
                            added.push((column.clone(), row, v.clone()));
                        }
                    }
                }
            }
        }
        Ok(added)
    }
    /// Replaces the scaler of the numeric step over `columns` (a scaler learned elsewhere: the
    /// running statistics of a stream, say); an error when no numeric step reads exactly those
    /// columns or the scaler's width differs.
    pub fn set_standard_scaler(&mut self, columns: &[String], scaler: StandardScaler) -> Result<()> {
        for step in &mut self.steps {
            if let Step::Numeric { columns: c, scaler: s, .. } = step {
                if c == columns {
                    let width = scaler.mean.len();
                    if width != c.len() {
                        return Err(Error::invalid(format!(
                            "FittedPreprocessor.set_standard_scaler: a scaler of {width} columns for {columns:?}"
                        )));
                    }
                    *s = Some(Scaler::Standard(scaler));
                    return Ok(());
                }
            }
        }
        Err(Error::invalid(format!("FittedPreprocessor.set_standard_scaler: no numeric step reads {columns:?}")))
    }
    /// The input columns the preprocessor reads, in order.
    pub fn input_columns(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| match s {
                Step::Numeric { columns, .. } => columns.clone(),
                Step::Categorical { encoder, .. } => encoder.columns.clone(),
            })
            .collect()
    }
    /// The names of the output features: numeric columns keep their name, indicators are
    /// `column_category`.
    pub fn feature_names(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| match s {
                Step::Numeric { columns, .. } => columns.clone(),
                Step::Categorical { encoder, .. } => encoder.feature_names(),
            })
            .collect()
    }
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Numeric { columns, imputer, scaler } => json!({
                    "kind": "numeric", "columns": columns, "imputer": imputer.to_json(),
                    "scaler": match scaler { None => Value::Null, Some(Scaler::Standard(s)) => s.to_json(), Some(Scaler::MinMax(s)) => s.to_json() },
                }),
                Step::Categorical { fill, encoder } => {
                    json!({"kind": "categorical", "fill": fill, "encoder": encoder.to_json()})
                }
            })
            .collect();
        json!({"class_name": "Preprocessor", "steps": steps})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let bad = |what: &str| Error::invalid(format!("Preprocessor config: {what} in {v}"));
        let steps = v["steps"].as_array().ok_or_else(|| bad("no `steps` list"))?;
        let steps = steps
            .iter()
            .map(|s| match s["kind"].as_str() {
                Some("numeric") => Ok(Step::Numeric {
                    columns: string_list(&s["columns"]).ok_or_else(|| bad("numeric columns are not strings"))?,
                    imputer: SimpleImputer::from_json(&s["imputer"])?,
                    scaler: match s["scaler"]["class_name"].as_str() {
                        None => None,
                        Some("StandardScaler") => Some(Scaler::Standard(StandardScaler::from_json(&s["scaler"])?)),
                        Some("MinMaxScaler") => Some(Scaler::MinMax(MinMaxScaler::from_json(&s["scaler"])?)),
                        Some(other) => return Err(bad(&format!("unknown scaler {other:?}"))),
                    },
                }),
                Some("categorical") => Ok(Step::Categorical {
                    fill: string_list(&s["fill"]).ok_or_else(|| bad("categorical fill values are not strings"))?,
                    encoder: OneHotEncoder::from_json(&s["encoder"])?,
                }),
                _ => Err(bad(&format!("unknown step kind {}", s["kind"]))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FittedPreprocessor { steps })
    }
}

/// The name of a reserved one-hot slot not yet taken: no value read from a file holds a NUL.
const FREE_SLOT: &str = "\u{0}free slot ";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn require(df: &DataFrame, columns: &[String], what: &str) -> Result<()> {
    let have = names(df);
    let missing: Vec<&String> = columns.iter().filter(|c| !have.contains(c)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!("{what}: the table lacks column(s) {missing:?}; it has {have:?}")))
}

/// `columns` as a `[rows, k]` tensor with NaN where a value is missing.
fn numeric_block(df: &DataFrame, columns: &[String], what: &str) -> Result<Tensor> {
    require(df, columns, what)?;
    let (n, k) = (df.height(), columns.len());
    let mut out = vec![0f32; n * k];
    for (j, name) in columns.iter().enumerate() {
        let values = column_f64(df, name).map_err(|e| Error { message: format!("{what}: {}", e.message), ..e })?;
        for (i, v) in values.into_iter().enumerate() {
            out[i * k + j] = match v {
                Some(x) if x.is_infinite() => {
                    return Err(Error::invalid(format!("{what}: column {name:?}, row {i} is {x}")).at_row(i));
                }
                Some(x) => x as f32,
                None => f32::NAN,
            };
        }
    }
    Ok(Tensor::from_vec(out, [n, k]))
}

fn text_block(df: &DataFrame, columns: &[String], what: &str) -> Result<Vec<Vec<Option<String>>>> {
    require(df, columns, what)?;
    columns.iter().map(|c| column_str(df, c)).collect()
}

fn filled(raw: Vec<Vec<Option<String>>>, fill: &[String]) -> Vec<Vec<String>> {
    raw.into_iter()
        .zip(fill)
        .map(|(col, f)| col.into_iter().map(|v| v.unwrap_or_else(|| f.clone())).collect())
        .collect()
}

fn most_frequent(col: &[Option<String>]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for v in col.iter().flatten() {
        *counts.entry(v).or_default() += 1;
    }
    // BTreeMap iterates in sorted order, so the first maximum is the smallest tied category.
    let best = counts.iter().fold(None, |b: Option<(&str, usize)>, (k, &c)| match b {
        Some((_, bc)) if bc >= c => b,
        _ => Some((k, c)),
    });
    best.map(|(k, _)| k.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{frame_from_rows, read_csv, CsvOptions};

    fn table() -> DataFrame {
        // Each test thread writes its own file, so parallel tests never read a half-written one.
        let tid = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_alphanumeric(), "");
        let p = std::env::temp_dir().join(format!("sinew-tabular-{}-{tid}.csv", std::process::id()));
        std::fs::write(&p, "age,city,fare\n20,paris,1\n,tokyo,3\n40,,5\n30,paris,\n").unwrap();
        read_csv(&p, &CsvOptions::new()).unwrap()
    }

    fn prep() -> Preprocessor {
        Preprocessor::new().numeric(&["age", "fare"], Strategy::Mean, Scaling::MinMax).categorical(
            &["city"],
            CategoryFill::MostFrequent,
            false,
            HandleUnknown::Error,
        )
    }

    #[test]
    fn preprocessor_imputes_scales_and_encodes() {
        let fitted = prep().fit(&table()).unwrap();
        assert_eq!(fitted.feature_names(), ["age", "fare", "city_paris", "city_tokyo"]);
        let x = fitted.transform(&table()).unwrap();
        // age: 20, (30), 40, 30 -> 0, .5, 1, .5; fare: 1, 3, 5, (3) -> 0, .5, 1, .5; city NaN -> paris.
        #[rustfmt::skip]
        let want = [0., 0., 1., 0.,  0.5, 0.5, 0., 1.,  1., 1., 1., 0.,  0.5, 0.5, 1., 0.];
        assert_eq!(x.to_vec_f32(), want);
        let back = FittedPreprocessor::from_json(&fitted.to_json()).unwrap();
        assert_eq!(back, fitted);
    }

    #[test]
    fn preprocessor_raw_rows_and_bad_input() {
        let fitted = prep().fit(&table()).unwrap();
        let row = frame_from_rows(&["city", "age", "fare"], &[&["tokyo", "25", "2"]]).unwrap();
        assert_eq!(fitted.transform(&row).unwrap().to_vec_f32(), [0.25, 0.25, 0., 1.]);
        let unseen = frame_from_rows(&["city", "age", "fare"], &[&["rome", "25", "2"]]).unwrap();
        let e = fitted.transform(&unseen).unwrap_err().message;
        assert!(e.contains("column \"city\", row 0 has category \"rome\", unseen at fit time"), "{e}");
        let short = frame_from_rows(&["city", "age"], &[&["rome", "25"]]).unwrap();
        let e = fitted.transform(&short).unwrap_err().message;
        assert!(e.contains("lacks column(s) [\"fare\"]"), "{e}");
        let text = frame_from_rows(&["city", "age", "fare"], &[&["paris", "old", "2"]]).unwrap();
        let e = fitted.transform(&text).unwrap_err().message;
        assert!(e.contains("column \"age\", row 0: \"old\" is not a number"), "{e}");
        let inf = frame_from_rows(&["city", "age", "fare"], &[&["paris", "inf", "2"]]).unwrap();
        assert!(fitted.transform(&inf).unwrap_err().message.contains("column \"age\", row 0 is inf"));
        assert!(frame_from_rows(&["a", "b"], &[&["1"]])
            .unwrap_err()
            .message
            .contains("row 0 has 1 values for 2 columns"));
    }

    /// A stream's category list grows into reserved slots: the width stays fixed, a new
    /// category takes the next free slot (encoded from then on), and one past the last slot stays
    /// unknown. The grown recipe round-trips through JSON.
    #[test]
    fn reserved_slots_take_categories_first_seen_later() {
        let mut fitted = prep().fit(&table()).unwrap();
        fitted.reserve_categories(1);
        let rows = |cities: &[&str]| {
            let rows: Vec<[&str; 3]> = cities.iter().map(|c| [*c, "25", "2"]).collect();
            let refs: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
            frame_from_rows(&["city", "age", "fare"], &refs).unwrap()
        };
        assert_eq!(fitted.transform(&rows(&["tokyo"])).unwrap().to_vec_f32(), [0.25, 0.25, 0., 1., 0.]);
        let later = rows(&["rome", "tokyo", "lima", "rome"]);
        let added = fitted.grow_categories(&later).unwrap();
        assert_eq!(added, [("city".to_string(), 0, "rome".to_string())]);
        assert_eq!(fitted.unknown_categories(&later).unwrap(), [("city".to_string(), 2, "lima".to_string())]);
        assert_eq!(fitted.feature_names(), ["age", "fare", "city_paris", "city_tokyo", "city_rome"]);
        let x = fitted.transform(&rows(&["rome", "paris"])).unwrap().to_vec_f32();
        assert_eq!(x, [0.25, 0.25, 0., 0., 1., 0.25, 0.25, 1., 0., 0.]);
        let back = FittedPreprocessor::from_json(&fitted.to_json()).unwrap();
        assert_eq!(back.transform(&rows(&["rome"])).unwrap().to_vec_f32(), [0.25, 0.25, 0., 0., 1.]);
    }
}
