//! `[data]` of a spec: the source and its options, the feature steps, the test split and the
//! scaling, each error at its line.

use crate::spec::{CsvSource, Data, Source, Step, SOURCES};
use crate::spec_table::Table;
use anyhow::Result;
use sinew::nn::suggest;
use std::path::Path;

/// `[data]`: the source and its options, the test split and the scaling.
pub(crate) fn data_section(top: &Table) -> Result<Data> {
    let (src, file) = (top.src, top.file);
    let data = top.sub("data")?.ok_or_else(|| top.err(None, "missing required table [data]"))?;
    data.only(&[
        "source",
        "path",
        "test_path",
        "dir",
        "target",
        "numeric",
        "categorical",
        "header",
        "column_names",
        "null_values",
        "trim",
        "target_strip",
        "target_path",
        "separator",
        "drop",
        "steps",
        "test_size",
        "scale",
        "column",
        "window",
        "image_size",
        "channels",
        "seq_len",
        "step",
        "max_chars",
        "targets",
        "test_steps",
        "season",
        "on_unknown",
        "chunk_rows",
        "reserve_categories",
        "classes",
        "train_rows",
    ])?;
    let kind = data.str("source", None)?;
    let data_steps = steps(&data, src, file)?;
    if kind != "csv" && (!data_steps.is_empty() || data.t.contains_key("drop")) {
        return Err(data.err(Some("source"), "steps and drop apply to a csv source"));
    }
    // `target` names one column, or one per output of a multi-output model.
    let targets = match data.t.get("target") {
        Some(toml::Value::Array(_)) => data.strs("target")?,
        Some(_) => vec![data.str("target", None)?],
        None if kind == "csv" => return Err(data.err(None, "missing required field \"target\"")),
        None => vec![],
    };
    if targets.is_empty() && kind == "csv" {
        return Err(data.err(Some("target"), "must name at least one column"));
    }
    let source = match kind.as_str() {
        "digits" => Source::Digits,
        "mnist" => Source::Mnist { dir: data.path("dir")? },
        "sklearn_csv" => Source::SklearnCsv {
            path: data.path("path")?.ok_or_else(|| data.err(None, "missing required field \"path\""))?,
        },
        "csv" => Source::Csv(Box::new(CsvSource {
            path: data.path("path")?.ok_or_else(|| data.err(None, "missing required field \"path\""))?,
            test_path: data.path("test_path")?,
            target: targets.first().cloned().unwrap_or_default(),
            targets: targets.clone(),
            numeric: data.strs("numeric")?,
            categorical: data.strs("categorical")?,
            header: data.bool("header", true)?,
            column_names: data.strs("column_names")?,
            null_values: data.strs("null_values")?,
            trim: data.bool("trim", false)?,
            target_strip: data.str("target_strip", Some(""))?,
            separator: match data.str("separator", Some(","))?.as_bytes() {
                [b] => *b,
                _ => return Err(data.err(Some("separator"), "must be a single character")),
            },
            target_path: data.path("target_path")?,
            drop: data.strs("drop")?,
            steps: data_steps,
            chunk_rows: data.uint("chunk_rows", Some(1000))?,
            reserve_categories: match data.t.get("reserve_categories") {
                None => 0,
                Some(toml::Value::Integer(i)) if *i >= 0 => *i as usize,
                Some(v) => {
                    return Err(data.err(Some("reserve_categories"), format!("must be a non-negative integer, got {v}")))
                }
            },
            on_unknown: match data.str("on_unknown", Some("error"))?.as_str() {
                "error" => crate::saved::OnUnknown::Error,
                "ignore" => crate::saved::OnUnknown::Ignore,
                other => {
                    return Err(data.err(
                        Some("on_unknown"),
                        format!(
                            "must be \"error\" or \"ignore\", got {other:?}{}",
                            suggest(other, &["error", "ignore"])
                        ),
                    ))
                }
            },
        })),
        "time_series" => Source::TimeSeries {
            path: data.path("path")?.ok_or_else(|| data.err(None, "missing required field \"path\""))?,
            column: data.str("column", None)?,
            window: data.uint("window", Some(12))?,
            test_steps: data.t.get("test_steps").map(|_| data.uint("test_steps", None)).transpose()?,
            season: data.uint("season", Some(12))?,
        },
        "image_folder" => {
            let size = match data.t.get("image_size") {
                None => (256, 256),
                Some(toml::Value::Array(a))
                    if a.len() == 2 && a.iter().all(|v| v.as_integer().is_some_and(|i| i > 0)) =>
                {
                    (a[0].as_integer().unwrap_or(1) as usize, a[1].as_integer().unwrap_or(1) as usize)
                }
                Some(v) => return Err(data.err(Some("image_size"), format!("must be [height, width], got {v}"))),
            };
            let channels = data.uint("channels", Some(3))?;
            if ![1, 3, 4].contains(&channels) {
                return Err(data.err(Some("channels"), format!("must be 1, 3 or 4, got {channels}")));
            }
            Source::ImageFolder {
                dir: data.path("dir")?.ok_or_else(|| data.err(None, "missing required field \"dir\""))?,
                image_size: size,
                channels,
            }
        }
        "text" => {
            let seq_len = data.uint("seq_len", Some(40))?;
            let shifted = match data.str("targets", Some("next"))?.as_str() {
                "next" => false,
                "shifted" => true,
                other => {
                    return Err(data.err(
                        Some("targets"),
                        format!(
                            "must be \"next\" (the character after each window) or \"shifted\" (each sequence shifted by one), got {other:?}{}",
                            suggest(other, &["next", "shifted"])
                        ),
                    ))
                }
            };
            Source::Text {
                path: data.path("path")?.ok_or_else(|| data.err(None, "missing required field \"path\""))?,
                seq_len,
                // Windows start every `step` characters: 3 for next-character windows (the
                // Keras example's), seq_len + 1 (non-overlapping) for shifted sequences.
                step: data.uint("step", Some(if shifted { seq_len + 1 } else { 3 }))?,
                max_chars: data.uint("max_chars", Some(20_000))?,
                shifted,
            }
        }
        other => {
            return Err(data.err(
                Some("source"),
                format!("unknown source {other:?}{} (valid: {})", suggest(other, SOURCES), SOURCES.join(", ")),
            ))
        }
    };
    let own: &[(&str, &str)] = &[
        ("targets", "text"),
        ("test_steps", "time_series"),
        ("season", "time_series"),
        ("on_unknown", "csv"),
        ("chunk_rows", "csv"),
        ("reserve_categories", "csv"),
    ];
    if let Some((key, owner)) = own.iter().find(|(k, o)| data.t.contains_key(*k) && kind != *o) {
        return Err(data.err(Some(key), format!("applies to a {owner} source")));
    }
    if data.t.contains_key("season") && !data.t.contains_key("test_steps") {
        return Err(data.err(Some("season"), "is the seasonal-naive baseline's period, scored only with test_steps"));
    }
    if let Source::Csv(c) = &source {
        if c.numeric.is_empty() && c.categorical.is_empty() {
            return Err(data.err(None, "a csv source needs `numeric` or `categorical` feature columns"));
        }
    }
    let scale = data.str("scale", Some("none"))?;
    if !["none", "minmax", "standard"].contains(&scale.as_str()) {
        return Err(data.err(
            Some("scale"),
            format!(
                "must be \"none\", \"minmax\" or \"standard\", got {scale:?}{}",
                suggest(&scale, &["none", "minmax", "standard"])
            ),
        ));
    }
    let classes = match data.t.get("classes") {
        None => vec![],
        Some(toml::Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Integer(i) => Some(i.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| data.err(Some("classes"), "must list class names (strings or integers)"))?,
        Some(v) => return Err(data.err(Some("classes"), format!("must be a non-empty list of class names, got {v}"))),
    };
    let train_rows = data.t.get("train_rows").map(|_| data.uint("train_rows", None)).transpose()?;
    let data_spec = Data { source, classes, train_rows, test_size: data.float("test_size", 0.2, (0.0, 0.95))?, scale };
    Ok(data_spec)
}

/// The `[[data.steps]]` list.
fn steps(data: &Table, src: &str, file: &Path) -> Result<Vec<Step>> {
    let Some(list) = data.t.get("steps") else { return Ok(vec![]) };
    let list = list.as_array().ok_or_else(|| data.err(Some("steps"), "must be a list of [[data.steps]] tables"))?;
    let mut out = vec![];
    for (i, st) in list.iter().enumerate() {
        let t = st.as_table().ok_or_else(|| data.err(Some("steps"), "each step must be a table"))?;
        let s = Table { src, file, section: "data.steps".into(), occurrence: i, t };
        let kinds = ["extract", "replace", "sum"];
        let kind = s.str("kind", None)?;
        out.push(match kind.as_str() {
            "extract" => {
                s.only(&["kind", "source", "pattern", "into"])?;
                let pattern = s.str("pattern", None)?;
                Step::Extract { source: s.str("source", None)?, pattern, into: s.str("into", None)? }
            }
            "replace" => {
                s.only(&["kind", "column", "map", "other"])?;
                let map = match t.get("map") {
                    Some(toml::Value::Table(m)) => m
                        .iter()
                        .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| s.err(Some("map"), "values must be strings"))?,
                    _ => return Err(s.err(Some("map"), "must be a table of old = \"new\" strings")),
                };
                Step::Replace { column: s.str("column", None)?, map, other: s.opt_str("other")? }
            }
            "sum" => {
                s.only(&["kind", "columns", "add", "into"])?;
                Step::Sum {
                    columns: s.strs("columns")?,
                    add: s.float("add", 0.0, (f64::MIN, f64::MAX))?,
                    into: s.str("into", None)?,
                }
            }
            other => {
                return Err(s.err(
                    Some("kind"),
                    format!("unknown step {other:?}{} (valid: {})", suggest(other, &kinds), kinds.join(", ")),
                ))
            }
        });
    }
    Ok(out)
}
