//! A CSV source into a [`Task`]: the table read with the spec's options and feature steps,
//! split (stratified for classes), preprocessed by the column recipe fitted on the training
//! rows, and the target encoded. Each row keeps its line in the file, so a data error names
//! `file:line` wherever the shuffle and the split put the row.

use crate::saved::Saved;
use crate::spec::{Spec, Step};
use crate::task::{MoreTarget, Task};
use crate::train::target_kind;
use anyhow::{bail, Context, Result};
use sinew::data::{
    column_str, read_csv, train_test_split, CategoryFill, CsvOptions, HandleUnknown, LabelEncoder, Preprocessor,
    Scaling, Strategy,
};

pub(crate) fn apply_steps(df: &mut sinew::data::DataFrame, c: &crate::spec::CsvSource) -> Result<()> {
    for name in &c.drop {
        *df = df.drop(name).map_err(|_| anyhow::anyhow!("data.drop: no column {name:?}"))?;
    }
    for step in &c.steps {
        match step {
            Step::Extract { source, pattern, into } => sinew::data::extract(df, source, pattern, into)?,
            Step::Replace { column, map, other } => {
                let values: Vec<Option<String>> = column_str(df, column)?
                    .into_iter()
                    .map(|v| match v {
                        Some(v) => match map.iter().find(|(k, _)| *k == v) {
                            Some((_, new)) => Some(new.clone()),
                            None => Some(other.clone().unwrap_or(v)),
                        },
                        None => other.clone(),
                    })
                    .collect();
                sinew::data::set_column(df, column, values)?;
            }
            Step::Sum { columns, add, into } => {
                let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
                sinew::data::derive(df, into, &cols, |v| v.iter().try_fold(*add, |acc, x| Some(acc + (*x)?)))?;
            }
        }
    }
    Ok(())
}

/// The column that keeps each CSV row's line in its file.
pub(crate) const LINE: &str = "__sinew_line";

/// A data error about a row of `df`, said at the line of the user's file that row came from
/// (`file:line: ...`, the row's position after the shuffle and split replaced by its line). An
/// error about no row, or a frame without lines, passes through.
pub(crate) fn at_line(e: sinew::data::Error, df: &sinew::data::DataFrame, file: &std::path::Path) -> anyhow::Error {
    let line = e.row.and_then(|r| Some(sinew::data::column_f64(df, LINE).ok()?.get(r).copied()?? as usize));
    match (e.row, line) {
        (Some(r), Some(line)) => {
            let msg = e.message.replace(&format!("row {r}"), &format!("line {line}"));
            anyhow::anyhow!("{}:{line}: {msg}", file.display())
        }
        _ => e.into(),
    }
}

/// The target column's values as class names (`target_strip` removed); a missing one is an
/// error at its line.
pub(crate) fn labels(
    df: &sinew::data::DataFrame,
    c: &crate::spec::CsvSource,
    file: &std::path::Path,
) -> Result<Vec<String>> {
    let strip: Vec<char> = c.target_strip.chars().collect();
    column_str(df, &c.target)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.map(|s| s.trim_end_matches(&strip[..]).to_string()).ok_or(i))
        .collect::<std::result::Result<Vec<_>, usize>>()
        .map_err(|i| {
            let e = sinew::data::Error::invalid(format!("target column {:?}: row {i} is missing", c.target));
            at_line(e.at_row(i), df, file)
        })
}

/// The column recipe of a CSV source: numeric columns median-imputed and scaled, categorical
/// ones filled with "missing" and one-hot encoded (unseen categories as zeros; the saved policy
/// decides at predict time).
pub(crate) fn recipe(c: &crate::spec::CsvSource, scaling: Scaling) -> Preprocessor {
    let num: Vec<&str> = c.numeric.iter().map(String::as_str).collect();
    let cat: Vec<&str> = c.categorical.iter().map(String::as_str).collect();
    let mut recipe = Preprocessor::new();
    if !num.is_empty() {
        recipe = recipe.numeric(&num, Strategy::Median, scaling);
    }
    if !cat.is_empty() {
        recipe = recipe.categorical(&cat, CategoryFill::Constant("missing".into()), false, HandleUnknown::Ignore);
    }
    recipe
}

pub fn csv_task(spec: &Spec, c: &crate::spec::CsvSource) -> Result<Task> {
    let d = &spec.data;
    let cols: Vec<&str> = c.column_names.iter().map(String::as_str).collect();
    let nulls: Vec<&str> = c.null_values.iter().map(String::as_str).collect();
    let mut opts = CsvOptions::new().has_header(c.header).trim(c.trim).null_values(&nulls).separator(c.separator);
    if !cols.is_empty() {
        opts = opts.column_names(&cols);
    }
    let read = |p: &std::path::Path| -> Result<sinew::data::DataFrame> {
        let mut df = read_csv(p, &opts).with_context(|| format!("data source {}", p.display()))?;
        if let Some(tp) = &c.target_path {
            let t = read_csv(tp, &CsvOptions::new().has_header(false).column_names(&[&c.target]).numeric(&[&c.target]))
                .with_context(|| format!("data.target_path {}", tp.display()))?;
            if t.height() != df.height() {
                bail!("data.target_path {}: {} rows for {} feature rows", tp.display(), t.height(), df.height());
            }
            df.with_column(t.column(&c.target)?.clone())?;
        }
        if df.height() == 0 {
            let what = if c.header { "has a header and no data rows" } else { "is empty" };
            bail!("data source {}: {what}", p.display());
        }
        apply_steps(&mut df, c)?;
        // Each row's line in the file (the header is line 1), carried through the shuffle and
        // the split so errors can point at the user's file.
        let first = 1 + usize::from(c.header);
        let lines: Vec<i64> = (0..df.height()).map(|i| (first + i) as i64).collect();
        sinew::data::set_column(&mut df, LINE, lines)?;
        Ok(df)
    };
    let regression = !target_kind(spec)?.is_classes();
    let train = read(&c.path)?;
    let labels = |df: &sinew::data::DataFrame, file: &std::path::Path| labels(df, c, file);
    let test_file = c.test_path.clone().unwrap_or_else(|| c.path.clone());
    let (train_df, test_df) = match &c.test_path {
        Some(p) => (train, read(p)?),
        None => {
            let strat = if regression {
                None
            } else {
                let y = labels(&train, &c.path)?;
                Some(LabelEncoder::fit(&y)?.transform(&y)?)
            };
            let s = train_test_split(train.height(), d.test_size, true, spec.seed, strat.as_deref())?;
            (sinew::data::take_rows(&train, &s.train)?, sinew::data::take_rows(&train, &s.test)?)
        }
    };
    let scaling = match d.scale.as_str() {
        "minmax" => Scaling::MinMax,
        "none" => Scaling::None,
        _ => Scaling::Standard,
    };
    let prep = recipe(c, scaling).fit(&train_df).map_err(|e| at_line(e, &train_df, &c.path))?;
    let description = format!(
        "{} ({} training, {} test rows), target {:?}",
        c.path.display(),
        train_df.height(),
        test_df.height(),
        c.target
    );
    let x_train = prep.transform(&train_df).map_err(|e| at_line(e, &train_df, &c.path))?;
    let x_test = prep.transform(&test_df).map_err(|e| at_line(e, &test_df, &test_file))?;
    // A multi-output model's other targets, each encoded as its output's loss takes it.
    let mut more = vec![];
    for (t, loss) in c.targets.iter().zip(&spec.compile.losses).skip(1) {
        let sub = crate::spec::CsvSource { target: t.clone(), ..c.clone() };
        let classes = sinew::nn::loss_from_name(loss).map(|l| l.target_kind().is_classes()).unwrap_or(true);
        more.push(if classes {
            let (a, b) = (self::labels(&train_df, &sub, &c.path)?, self::labels(&test_df, &sub, &test_file)?);
            let enc = LabelEncoder::fit(&a)?;
            let y_test = enc
                .transform(&b)
                .map_err(|e| at_line(e, &test_df, &test_file))
                .with_context(|| format!("target {t:?}: the test rows have a class unseen in training"))?;
            MoreTarget { name: t.clone(), y_train: enc.transform(&a)?, y_test, class_names: enc.classes, values: None }
        } else {
            let vals = |df: &sinew::data::DataFrame, file: &std::path::Path| -> Result<Vec<f32>> {
                Ok(sinew::data::to_tensor(df, &[t.as_str()]).map_err(|e| at_line(e, df, file))?.to_vec_f32())
            };
            let values = Some((vals(&train_df, &c.path)?, vals(&test_df, &test_file)?));
            MoreTarget { name: t.clone(), class_names: vec![], y_train: vec![], y_test: vec![], values }
        });
    }
    if regression {
        let vals = |df: &sinew::data::DataFrame, file: &std::path::Path| -> Result<Vec<f32>> {
            Ok(sinew::data::to_tensor(df, &[&c.target]).map_err(|e| at_line(e, df, file))?.to_vec_f32())
        };
        return Ok(Task {
            x_train,
            y_train: vec![],
            x_test,
            y_test: vec![],
            class_names: vec![],
            image: None,
            preprocessing: Some(Saved::Table {
                recipe: prep.to_json(),
                target: c.target.clone(),
                classes: vec![],
                on_unknown: c.on_unknown,
                outputs: vec![],
            }),
            values: Some((vals(&train_df, &c.path)?, vals(&test_df, &test_file)?)),
            forecast: None,
            target_steps: None,
            more,
            description,
        });
    }
    let train_labels = labels(&train_df, &c.path)?;
    let enc = LabelEncoder::fit(&train_labels)?;
    let y_train = enc.transform(&train_labels)?;
    let y_test = enc
        .transform(&labels(&test_df, &test_file)?)
        .map_err(|e| at_line(e, &test_df, &test_file))
        .context("the test rows have a target class unseen in training")?;
    Ok(Task {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: enc.classes.clone(),
        image: None,
        preprocessing: Some(Saved::Table {
            recipe: prep.to_json(),
            target: c.target.clone(),
            classes: enc.classes.clone(),
            on_unknown: c.on_unknown,
            outputs: vec![],
        }),
        values: None,
        forecast: None,
        target_steps: None,
        more,
        description,
    })
}
