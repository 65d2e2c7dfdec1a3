//! sinew's datasets and loaders. Depends on the tensor crate only: data does not need autograd.

mod datasets;
mod error;
mod idx;
mod labels;

pub use datasets::{find_dataset, load_mnist, load_sklearn_csv, Mnist};
pub use error::{Error, ErrorKind, Result};
pub use idx::{read_idx_u8, read_maybe_gz, IdxU8};
pub use labels::to_categorical;
