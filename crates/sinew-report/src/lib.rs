//! sinew's charts: exploration plots of a table (histogram, count plot, scatter, box plot,
//! correlation heatmap), learning curves from a `History`, the confusion matrix and the ROC
//! curve. Each is a [`Plot`], written as SVG or rendered to PNG by [`save_plot`]. The HTML report
//! of a run ([`html_report`] of a [`RunRecord`]) puts them in one self-contained page.

mod charts;
mod error;
mod html;
mod plot;
mod png;
mod records;
mod svg;

pub use charts::{
    box_plot, confusion_matrix_plot, correlation_heatmap, count_plot, histogram, learning_curves, learning_curves_of,
    roc_plot, scatter_plot,
};
pub use error::{Error, ErrorKind, Result};
pub use html::{html_report, DiagnosticsRecord, ImageRows, LrCurve, ModelRecord, RunRecord, Sample};
pub use plot::{Plot, Series};
pub use png::{image_grid_png, render_png, save_image_grid, save_plot, write_atomic};
pub use records::{CurveRecord, SearchRecord, TrialRow};
