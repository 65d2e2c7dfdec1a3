//! sinew's models and training: `Sequential` with Keras `compile`/`fit`/`evaluate`/`predict`,
//! callbacks, metrics and History.

mod callbacks;
mod error;
mod fit;
mod history;
mod metrics;
mod metrics_more;
mod progress;
mod saving;
mod sequential;
mod weights;

pub use callbacks::{
    BackupAndRestore, Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, Logs, Mode, ModelCheckpoint,
    OnEpochEnd, ReduceLrOnPlateau, TerminateOnNaN,
};
pub use error::{Error, ErrorKind, Result};
pub use fit::{Fit, TrainStep};
pub use history::History;
pub use metrics::{metric_from_name, Accuracy, AccuracyKind, Metric};
pub use metrics_more::{Auc, Confusion, ConfusionKind, TopK, R2};
pub use sequential::{LossSpec, Sequential};
