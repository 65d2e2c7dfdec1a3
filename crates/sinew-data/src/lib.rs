//! sinew's datasets, input pipelines, preprocessing, exploration and evaluation reports. Depends
//! on the tensor crate only (data does not need autograd), plus polars for tables behind the
//! default `tables` feature.

#[cfg(feature = "tables")]
mod csv_chunks;
mod csv_stream;
mod datasets;
mod download;
#[cfg(feature = "tables")]
mod eda;
mod encoding;
mod error;
mod evaluation;
#[cfg(feature = "tables")]
mod frame;
mod idx;
#[cfg(feature = "images")]
mod images;
mod labels;
mod multilabel;
mod pipeline;
mod preprocessing;
#[cfg(feature = "tables")]
mod tabular;
mod text;
mod timeseries;

#[cfg(feature = "tables")]
pub use csv_chunks::CsvChunks;
pub use csv_stream::{csv_dataset, max_line_bytes, read_text_bounded, CsvDatasetOptions, DEFAULT_MAX_LINE_BYTES};
pub use datasets::{find_dataset, load_mnist, load_sklearn_csv, Mnist};
pub use download::{data_dir, fetch, load_data, verify, Remote, RemoteFile, FASHION_MNIST, MNIST};
#[cfg(feature = "tables")]
pub use eda::{corr, describe, missing_values, numeric_columns, pearson, value_counts};
pub use encoding::{HandleUnknown, LabelEncoder, OneHotEncoder, SimpleImputer, Strategy};
pub use error::{Error, ErrorKind, Result};
pub use evaluation::{
    average_precision_score, average_precision_score_weighted, classification_report, classification_report_weighted,
    confusion_matrix, confusion_matrix_weighted, regression_report, regression_report_weighted, roc_auc_score,
    roc_auc_score_weighted, roc_curve, roc_curve_weighted, sample_scores, ClassScores, ClassificationReport,
    RegressionReport, RocCurve, SampleScores,
};
#[cfg(feature = "tables")]
pub use frame::{
    column_f64, column_str, derive, drop_missing, extract, filter_rows, frame_from_rows, get_dummies, names, read_csv,
    read_time_series, set_column, take_rows, to_tensor, CsvOptions, TimeSeries, DEFAULT_NULL_VALUES,
};
pub use idx::{max_input_bytes, read_first_line, read_idx_u8, read_maybe_gz, IdxU8, DEFAULT_MAX_INPUT_BYTES};
#[cfg(feature = "images")]
pub use images::{image_dataset_from_directory, is_image_file, load_image, ImageDataset, ImageFolder, Subset};
pub use labels::to_categorical;
pub use multilabel::{multilabel_report, LabelScores, MultiLabelBinarizer, MultiLabelReport};
pub use pipeline::{collect, timeseries_dataset_from_array, timeseries_generator, Cardinality, Dataset, Element};
/// The table library behind [`read_csv`]: a `DataFrame` is polars' own, so its whole API
/// (select, drop, rename, sort, group_by) is available.
#[cfg(feature = "tables")]
pub use polars;
#[cfg(feature = "tables")]
pub use polars::prelude::DataFrame;
pub use preprocessing::{train_test_split, MinMaxScaler, RunningScaler, SplitIndices, StandardScaler};
#[cfg(feature = "tables")]
pub use tabular::{CategoryFill, FittedPreprocessor, Preprocessor, Scaling};
pub use text::TextCorpus;
pub use timeseries::{timeseries_windows, Windows};
