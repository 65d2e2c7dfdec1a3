//! A spec's data source into a [`Task`]: the built-in digits, MNIST and scikit-learn CSVs here,
//! CSV tables in `table.rs`, time series, image folders and text in `sources.rs`; then the
//! spec's `classes` and `train_rows`. `feature_count` sizes a model from the spec and at most a
//! header line, for `sinew check`.

use crate::saved::Saved;
use crate::spec::{Source, Spec, Step};
use crate::task::Task;
use anyhow::{bail, Context, Result};
use sinew::data::{
    find_dataset, load_data, load_mnist, load_sklearn_csv, train_test_split, MinMaxScaler, StandardScaler, MNIST,
};
use sinew::datasets::load_digits;
use sinew::prelude::*;

fn split_rows(x: &Tensor, y: &[usize], test_size: f64, seed: u64) -> Result<(Tensor, Vec<usize>, Tensor, Vec<usize>)> {
    let s = train_test_split(y.len(), test_size, true, seed, Some(y))?;
    let pick = |idx: &[usize]| idx.iter().map(|&i| y[i]).collect::<Vec<_>>();
    Ok((x.index_select(0, &s.train), pick(&s.train), x.index_select(0, &s.test), pick(&s.test)))
}

fn scale(kind: &str, train: Tensor, test: Tensor) -> Result<(Tensor, Tensor)> {
    Ok(match kind {
        "minmax" => {
            let s = MinMaxScaler::fit(&train)?;
            (s.transform(&train)?, s.transform(&test)?)
        }
        "standard" => {
            let s = StandardScaler::fit(&train)?;
            (s.transform(&train)?, s.transform(&test)?)
        }
        _ => (train, test),
    })
}

/// Loads the spec's data and splits it, keeping only `data.classes` and at most
/// `data.train_rows` training rows when the spec says so.
pub fn load_task(spec: &Spec) -> Result<Task> {
    let task = load_source(spec)?;
    let task = if spec.data.classes.is_empty() { task } else { task.select_classes(&spec.data.classes, &spec.path)? };
    Ok(match spec.data.train_rows {
        Some(n) => task.first_train_rows(n),
        None => task,
    })
}

/// A task of grey digit images, classes 0-9, flattened to `height × width` values a row:
/// the training and test images and their labels.
fn digit_images(x: [Tensor; 2], y: [Vec<usize>; 2], (height, width): (usize, usize), description: String) -> Task {
    let [x_train, x_test] = x;
    let [y_train, y_test] = y;
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    Task {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: classes.clone(),
        image: Some((height, width)),
        preprocessing: Some(Saved::Image { height, width, channels: 1, classes }),
        values: None,
        forecast: None,
        target_steps: None,
        more: vec![],
        description,
    }
}

fn load_source(spec: &Spec) -> Result<Task> {
    let d = &spec.data;
    match &d.source {
        Source::Digits => {
            let data = load_digits().map_err(anyhow::Error::msg)?;
            let x = Tensor::from_vec(data.x, [data.y.len(), 64]);
            let (x_train, y_train, x_test, y_test) = split_rows(&x, &data.y, d.test_size, spec.seed)?;
            let description = "8x8 digits built into sinew (UCI, via scikit-learn)".into();
            Ok(digit_images([x_train, x_test], [y_train, y_test], (8, 8), description))
        }
        Source::Mnist { dir } => {
            // The staged or cached copy is what sinew fetches, checked against MNIST's published
            // checksums; a folder the user names may hold another data set in MNIST's layout,
            // checked by its IDX headers and sizes only.
            let (m, dir) = match dir {
                Some(p) => (load_mnist(p).with_context(|| format!("data.dir {}", p.display()))?, p.clone()),
                None => {
                    let dir = find_dataset("mnist")?;
                    (load_data(&MNIST, Some(&dir))?, dir)
                }
            };
            let (h, w) = match (m.x_train.dims(), m.x_test.dims()) {
                ([_, h, w], [_, h2, w2]) if (h, w) == (h2, w2) => (*h, *w),
                (a, b) => bail!(
                    "data.dir {}: the images must be [n, height, width] alike in both files, got {a:?} and {b:?}",
                    dir.display()
                ),
            };
            let ids = |t: &Tensor| t.to_vec_f32().iter().map(|&v| v as usize).collect::<Vec<_>>();
            let flat = |t: &Tensor| t.reshape([t.dims()[0], h * w]).mul_scalar(1.0 / 255.0);
            let (n_train, n_test) = (m.x_train.dims()[0], m.x_test.dims()[0]);
            let description = format!(
                "MNIST-layout images from {} ({n_train} training and {n_test} test images, {h}x{w})",
                dir.display()
            );
            Ok(digit_images(
                [flat(&m.x_train), flat(&m.x_test)],
                [ids(&m.y_train), ids(&m.y_test)],
                (h, w),
                description,
            ))
        }
        Source::SklearnCsv { path } => {
            let (x, y) = load_sklearn_csv(path)?;
            let y: Vec<usize> = y.to_vec_f32().iter().map(|&v| v as usize).collect();
            let (a, y_train, b, y_test) = split_rows(&x, &y, d.test_size, spec.seed)?;
            let (x_train, x_test) = scale(&d.scale, a, b)?;
            let k = y.iter().max().map_or(1, |m| m + 1);
            Ok(Task {
                x_train,
                y_train,
                x_test,
                y_test,
                class_names: (0..k).map(|c| c.to_string()).collect(),
                image: None,
                preprocessing: None,
                values: None,
                forecast: None,
                target_steps: None,
                more: vec![],
                description: format!("{} ({} rows)", path.display(), y.len()),
            })
        }
        Source::Csv(c) => crate::table::csv_task(spec, c),
        Source::TimeSeries { path, column, window, test_steps, season } => {
            crate::sources::time_series(spec, path, column, *window, *test_steps, *season)
        }
        Source::ImageFolder { dir, image_size, channels } => {
            crate::sources::image_folder(spec, dir, *image_size, *channels)
        }
        Source::Text { path, seq_len, step, max_chars, shifted: true } => {
            crate::sources::shifted_text(spec, path, *seq_len, *step, *max_chars)
        }
        Source::Text { path, seq_len, step, max_chars, shifted: false } => {
            crate::sources::text(spec, path, *seq_len, *step, *max_chars)
        }
    }
}

/// The model's input width, from the spec and at most the first line of its data file, when
/// that is enough: `sinew check` uses it so that checking a spec does not load the data. `None`
/// when the data must be read (categorical columns one-hot encode the values they hold; a
/// text's vocabulary).
pub fn feature_count(spec: &Spec) -> Result<Option<usize>> {
    Ok(match &spec.data.source {
        Source::Digits => Some(64),
        Source::Mnist { dir: None } => Some(784),
        // A folder of the user's own may hold images of another size.
        Source::Mnist { dir: Some(_) } => None,
        Source::SklearnCsv { path } => {
            // `n_samples,n_features,class names...`
            let header = sinew::data::read_first_line(path)?;
            let d = header.split(',').nth(1).and_then(|d| d.trim().parse::<usize>().ok());
            Some(d.with_context(|| {
                format!("{}: line 1: expected `n_samples,n_features,...`, got {header:?}", path.display())
            })?)
        }
        Source::Csv(c) if c.categorical.is_empty() => {
            let names: Vec<String> = if c.header {
                let header = sinew::data::read_first_line(&c.path)?;
                header.split(c.separator as char).map(|s| s.trim().trim_matches('"').to_string()).collect()
            } else {
                c.column_names.clone()
            };
            // Columns the feature steps create.
            let derived: Vec<&str> = c
                .steps
                .iter()
                .filter_map(|s| match s {
                    Step::Extract { into, .. } | Step::Sum { into, .. } => Some(into.as_str()),
                    Step::Replace { .. } => None,
                })
                .collect();
            if let Some(missing) = c.numeric.iter().find(|n| !names.contains(n) && !derived.contains(&n.as_str())) {
                bail!("{}: data.numeric: column {missing:?} is not in the file's columns {names:?}", c.path.display());
            }
            Some(c.numeric.len())
        }
        Source::TimeSeries { window, .. } => Some(*window),
        Source::ImageFolder { image_size, channels, .. } => Some(image_size.0 * image_size.1 * channels),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    /// `feature_count` (what `sinew check` reads) agrees with the loaded data of every shipped
    /// spec it can size without reading the data.
    #[test]
    fn feature_count_matches_the_loaded_data_for_every_shipped_spec() {
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
        let mut sized = 0;
        for entry in std::fs::read_dir(specs).unwrap() {
            let spec = crate::spec::load(&entry.unwrap().path()).unwrap();
            let Some(n) = super::feature_count(&spec).unwrap() else { continue };
            if matches!(spec.data.source, crate::spec::Source::Mnist { .. }) {
                assert_eq!(n, 784);
                continue; // loading MNIST here would take the suite's time for a constant
            }
            let t = super::load_task(&spec).unwrap();
            assert_eq!(n, t.x_train.numel() / t.x_train.dims()[0], "{}", spec.path.display());
            sized += 1;
        }
        assert!(sized >= 3, "only {sized} shipped specs were sized from their header");
    }
}
