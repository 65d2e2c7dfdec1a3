//! [`Task`]: what every data source of a spec becomes (tabular ones in `train.rs`, the others
//! in `sources.rs`), and what training, the report and `predict` read.

use crate::saved::Saved;
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
    pub description: String,
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
