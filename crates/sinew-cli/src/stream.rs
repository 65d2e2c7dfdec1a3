//! `sinew train` with `fit.stream = true`: the CSV is read `data.chunk_rows` rows at a time and
//! never held whole, so a file larger than memory trains. Each chunk is preprocessed, predicted
//! by the model as it stands, then learned (`partial_fit`): prequential evaluation, as
//! scikit-multiflow does it. The column recipe's imputation and categories come from the first
//! chunk; with `scale = "standard"` the numeric columns are standardised by running statistics
//! over every chunk so far (`RunningScaler`), and the model file saves the final ones. A category first seen after the
//! first chunk takes one of the column's `data.reserve_categories` slots while one is free (the
//! category list grows, the model's input width stays), then follows `data.on_unknown`; a class
//! first seen after the first chunk is an error.

use crate::output::Out;
use crate::run::write_run;
use crate::saved::{OnUnknown, Saved};
use crate::spec::{CsvSource, Source, Spec};
use crate::table::{apply_steps, at_line, labels, recipe, LINE};
use crate::train::{build_model, target_kind, targets};
use anyhow::{bail, Context, Result};
use serde_json::json;
use sinew::data::{CsvChunks, CsvOptions, DataFrame, LabelEncoder, RunningScaler, Scaling};
use sinew::prelude::*;
use sinew::report::{CurveRecord, ModelRecord, RunRecord};
use sinew::train::Prequential;
use std::path::Path;

/// One chunk as the recipe reads it: the feature steps applied and each row's file line kept,
/// in the frame (for errors the data library reports by row) and beside it.
fn chunk_frame(mut df: DataFrame, lines: Vec<usize>, c: &CsvSource) -> Result<(DataFrame, Vec<usize>)> {
    apply_steps(&mut df, c)?;
    sinew::data::set_column(&mut df, LINE, lines.iter().map(|&l| l as i64).collect::<Vec<_>>())?;
    Ok((df, lines))
}

pub fn train(mut spec: Spec, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let Source::Csv(c) = spec.data.source.clone() else { bail!("fit.stream reads a csv source") };
    let kind = target_kind(&spec)?;
    if !kind.is_classes() {
        bail!(
            "{}: fit.stream scores each chunk before learning it by accuracy: it needs a classification loss, not {:?}",
            spec.path.display(),
            spec.compile.loss
        );
    }
    if epochs_override.is_some() {
        out.say("fit.stream makes one pass over the file: --epochs does not apply");
    }
    let nulls: Vec<&str> = c.null_values.iter().map(String::as_str).collect();
    let mut opts = CsvOptions::new().has_header(c.header).trim(c.trim).null_values(&nulls).separator(c.separator);
    if !c.column_names.is_empty() {
        let names: Vec<&str> = c.column_names.iter().map(String::as_str).collect();
        opts = opts.column_names(&names);
    }
    let file = c.path.as_path();
    let mut chunks =
        CsvChunks::open(file, &opts, c.chunk_rows).with_context(|| format!("data source {}", file.display()))?;
    let Some((df, lines)) = chunks.next_chunk()? else {
        bail!("data source {}: has a header and no data rows", file.display());
    };
    let (first, first_lines) = chunk_frame(df, lines, &c)?;
    // Imputation values and categories from the first chunk; scaling by running statistics.
    let mut prep = recipe(&c, Scaling::None).fit(&first).map_err(|e| at_line(e, &first, file))?;
    prep.reserve_categories(c.reserve_categories);
    let classes = LabelEncoder::fit(&labels(&first, &c, file)?)?;
    let k = classes.classes.len();
    // `scale = "standard"` standardises by running statistics; "none" leaves the numbers as read.
    let n_num = if spec.data.scale == "standard" { c.numeric.len() } else { 0 };
    let features = prep.transform(&first).map_err(|e| at_line(e, &first, file))?.dims()[1];
    let mut model = build_model(&mut spec, features)?;
    out.say(model.summary()?);
    out.say(format!(
        "{}: streaming {} in chunks of {} rows, {k} classes from the first chunk",
        spec.name,
        file.display(),
        c.chunk_rows
    ));
    let mut scaler = RunningScaler::new();
    let mut eval = Prequential::new();
    let mut warned: Vec<String> = vec![];
    let mut next = Some((first, first_lines));
    while let Some((df, lines)) = next.take() {
        for (column, row, value) in prep.grow_categories(&df)? {
            out.say(format!(
                "{}:{}: column {column:?}: new category {value:?} takes a reserved slot",
                file.display(),
                lines[row]
            ));
        }
        let x = prep.transform(&df).map_err(|e| at_line(e, &df, file))?;
        unknown_categories(&prep, &df, &lines, file, c.on_unknown, &mut warned, &out)?;
        let x = if n_num > 0 {
            let (num, rest) = (x.narrow(1, 0, n_num), x.narrow(1, n_num, features - n_num));
            scaler.partial_fit(&num)?;
            Tensor::concat(&[&scaler.scaler()?.transform(&num)?, &rest], 1)
        } else {
            x
        };
        let names = labels(&df, &c, file)?;
        let ids = classes.transform(&names).map_err(|e| at_line(e, &df, file)).with_context(|| {
            format!("a class first seen after the first chunk; raise data.chunk_rows above {} so the first chunk holds every class", c.chunk_rows)
        })?;
        let y = targets(kind, &ids, k, None)?;
        let acc = eval.step(&mut model, &x, &y, spec.fit.batch_size)?;
        if eval.curve.len() % 10 == 0 {
            out.say(format!("{} rows: prequential accuracy {acc:.4}", eval.seen));
        }
        next = chunks.next_chunk()?.map(|(df, lines)| chunk_frame(df, lines, &c)).transpose()?;
    }
    let accuracy = eval.accuracy();
    out.say(format!("{} rows in {} chunks: prequential accuracy {accuracy:.4}", eval.seen, eval.curve.len()));
    // The model file keeps the final running statistics, so predict scales as training ended.
    if n_num > 0 {
        prep.set_standard_scaler(&c.numeric, scaler.scaler()?)?;
    }
    let saved = Saved::Table {
        recipe: prep.to_json(),
        target: c.target.clone(),
        classes: classes.classes.clone(),
        on_unknown: c.on_unknown,
        outputs: vec![],
    };
    model.set_preprocessing(saved.to_json());
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let model_path = spec.output_dir.join("model.sinew");
    model.save(&model_path)?;
    let (x, acc): (Vec<f64>, Vec<f64>) = eval.curve.iter().map(|&(n, a)| (n as f64, a)).unzip();
    let metrics = vec![("prequential_accuracy".to_string(), accuracy)];
    let rec = ModelRecord {
        name: spec.name.clone(),
        summary: model.summary()?,
        metrics: metrics.clone(),
        class_names: classes.classes.clone(),
        curves: vec![CurveRecord {
            title: "Prequential accuracy (each chunk scored before it is learned)".into(),
            x_label: "rows seen".into(),
            y_label: "running accuracy".into(),
            x,
            series: vec![("running accuracy".into(), acc)],
        }],
        ..Default::default()
    };
    let description = format!(
        "{} streamed in chunks of {} rows ({} rows), target {:?}",
        file.display(),
        c.chunk_rows,
        eval.seen,
        c.target
    );
    write_run(
        &spec.output_dir,
        &RunRecord { title: format!("sinew train: {}", spec.name), data: description, models: vec![rec] },
    )?;
    out.say(format!("model: {}\nreport: {}", model_path.display(), spec.output_dir.join("report.html").display()));
    out.result(&json!({
        "name": spec.name, "rows": eval.seen, "chunks": eval.curve.len(),
        "metrics": {"prequential_accuracy": accuracy},
        "model": model_path, "report": spec.output_dir.join("report.html"),
    }));
    Ok(metrics)
}

/// Categories the first chunk did not have: an error at their line under `on_unknown =
/// "error"`, else encoded as zeros with one warning per column.
fn unknown_categories(
    prep: &sinew::data::FittedPreprocessor,
    df: &DataFrame,
    lines: &[usize],
    file: &Path,
    policy: OnUnknown,
    warned: &mut Vec<String>,
    out: &Out,
) -> Result<()> {
    for (column, row, value) in prep.unknown_categories(df)? {
        let line = lines[row];
        match policy {
            OnUnknown::Error => bail!(
                "{}:{line}: column {column:?}: category {value:?} was not in the first chunk and no reserved slot is left; raise data.reserve_categories or data.chunk_rows, or set data.on_unknown = \"ignore\"",
                file.display()
            ),
            OnUnknown::Ignore if !warned.contains(&column) => {
                out.say(format!(
                    "warning: {}:{line}: column {column:?}: category {value:?} was not in the first chunk and no reserved slot is left; encoded as all zeros (and any later ones)",
                    file.display()
                ));
                warned.push(column);
            }
            OnUnknown::Ignore => {}
        }
    }
    Ok(())
}
