//! [`Task`]: what every data source of a spec becomes (tabular ones in `train.rs`, the others
//! in `sources.rs`), and what training, the report and `predict` read.

use crate::saved::Saved;
use anyhow::{bail, Context, Result};
use sinew::data::MinMaxScaler;
use sinew::prelude::Tensor;

/// A task ready for the model: classes (ids and names) or, for a regression loss, values.
pub struct Task {
    pub x_train: Tensor,
    pub y_train: Vec<usize>,
    pub x_test: Tensor,
    pub y_test: Vec<usize>,
    pub class_names: Vec<String>,
    /// Grey images `(height, width)` for the report's samples.
    pub image: Option<(usize, usize)>,
    /// The fitted column recipe and target classes, saved in the model file.
    pub preprocessing: Option<Saved>,
    /// For a regression loss: the target values of the train and test rows (the class fields
    /// are then empty).
    pub values: Option<(Vec<f32>, Vec<f32>)>,
    /// A time series with a test period: what its recursive forecast needs.
    pub forecast: Option<Forecast>,
    /// Sequence targets (a text shifted by one): each row of `y_train` and `y_test` is this
    /// many consecutive ids.
    pub target_steps: Option<usize>,
    /// The targets of a multi-output model's other outputs, in output order (the fields above
    /// hold the first output's).
    pub more: Vec<MoreTarget>,
    pub description: String,
}

/// One more output's target: class ids and names, or (`values`) numbers for a regression loss.
pub struct MoreTarget {
    pub name: String,
    pub class_names: Vec<String>,
    pub y_train: Vec<usize>,
    pub y_test: Vec<usize>,
    pub values: Option<(Vec<f32>, Vec<f32>)>,
}

/// The recursive forecast of a time series' test period, the notes' way.
pub struct Forecast {
    /// The training values, scaled, `[n, 1]`: the forecast starts from their last window.
    pub history: Tensor,
    /// The test period's values, in the series' units.
    pub truth: Vec<f32>,
    /// The seasonal-naive forecast of the test period (the last training season repeated).
    pub baseline: Vec<f32>,
    /// The scaler fitted on the training values, to bring the forecast back to the series' units.
    pub scaler: MinMaxScaler,
}

impl Task {
    /// Only the rows of `classes` (names of this task's classes), relabelled in that order; the
    /// saved preprocessing names the new classes. An unknown name is an error listing the
    /// task's classes.
    pub fn select_classes(mut self, classes: &[String], spec: &std::path::Path) -> Result<Task> {
        if self.values.is_some() || self.target_steps.is_some() || self.class_names.is_empty() {
            bail!("{}: data.classes applies to a classification source", spec.display());
        }
        let old: Vec<usize> = classes
            .iter()
            .map(|c| {
                self.class_names.iter().position(|n| n == c).with_context(|| {
                    format!(
                        "{}: data.classes: no class {c:?}; the data's classes are {:?}",
                        spec.display(),
                        self.class_names
                    )
                })
            })
            .collect::<Result<_>>()?;
        let keep = |x: &Tensor, y: &[usize]| {
            let idx: Vec<usize> = (0..y.len()).filter(|&i| old.contains(&y[i])).collect();
            let ys = idx.iter().map(|&i| old.iter().position(|&o| o == y[i]).expect("kept")).collect();
            (x.index_select(0, &idx), ys)
        };
        (self.x_train, self.y_train) = keep(&self.x_train, &self.y_train);
        (self.x_test, self.y_test) = keep(&self.x_test, &self.y_test);
        if self.y_train.is_empty() || self.y_test.is_empty() {
            bail!("{}: data.classes {classes:?}: no training or no test rows are left", spec.display());
        }
        self.class_names = classes.to_vec();
        match &mut self.preprocessing {
            Some(Saved::Image { classes: c, .. }) | Some(Saved::Table { classes: c, .. }) => *c = classes.to_vec(),
            _ => {}
        }
        self.description += &format!("; classes {} only", classes.join(", "));
        Ok(self)
    }

    /// At most the first `n` training rows.
    pub fn first_train_rows(mut self, n: usize) -> Task {
        let rows = self.x_train.dims()[0];
        if n < rows {
            self.x_train = self.x_train.narrow(0, 0, n);
            self.y_train.truncate(n * self.target_steps.unwrap_or(1));
            if let Some((a, _)) = &mut self.values {
                a.truncate(n);
            }
            self.description += &format!("; the first {n} of {rows} training rows");
        }
        self
    }
}
