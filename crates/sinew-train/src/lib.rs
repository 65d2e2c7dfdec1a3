//! sinew's models and training: `Sequential` and functional models with Keras
//! `compile`/`fit`/`evaluate`/`predict`,
//! callbacks, metrics and History.

mod callbacks;
mod compile;
mod custom_step;
mod data;
mod diagnostics;
mod error;
mod fit;
mod functional;
mod graph;
mod history;
mod logs;
mod metrics;
mod model;
mod nested;
mod one_cycle;
mod predict;
mod progress;
mod rl;
mod saving;
mod stream;
mod summary;
mod tuner;
mod weights;

pub use callbacks::{
    BackupAndRestore, Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, Mode, ModelCheckpoint,
    OnEpochEnd, ReduceLrOnPlateau, TerminateOnNaN,
};
pub use compile::LossSpec;
pub use data::Tensors;
pub use diagnostics::{Finding, GradientDiagnostics, LayerTrace, EXPLODING_RATIO, VANISHING_RATIO};
pub use error::{Cause, Error, ErrorKind, Result};
pub use fit::{Fit, TrainStep};
pub use functional::{Functional, IntoLayerCall, IntoNodes, Node, SharedLayer};
pub use history::History;
pub use logs::Logs;
pub use metrics::{metric_from_name, Accuracy, AccuracyKind, Metric};
pub use metrics::{Auc, Confusion, ConfusionKind, TopK, R2};
pub use model::{Model, Sequential};
pub use nested::{as_model, as_model_mut};
pub use one_cycle::{LrFindOptions, LrFinder, OneCycle};
pub use predict::sample_with_temperature;
pub use rl::{CartPole, Dqn, DqnOptions, Env, EnvStep};
pub use saving::write_atomic;
pub use stream::Prequential;
pub use tuner::{HParams, HValue, SearchResult, SearchSpace, Trial, Tuner};
