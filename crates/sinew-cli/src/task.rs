//! [`Task`]: what every data source of a spec becomes (tabular ones in `train.rs`, the others
//! in `sources.rs`), and what training, the report and `predict` read.

use crate::saved::Saved;
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
    pub description: String,
}
