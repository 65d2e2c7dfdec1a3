//! The error type of `sinew-report`: every message names the file or the input at fault.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be written.
    Io,
    /// The input cannot be charted (an unknown column, a text column where numbers are needed).
    InvalidValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn io(path: &std::path::Path, e: impl fmt::Display) -> Self {
        Error { kind: ErrorKind::Io, message: format!("{}: {e}", path.display()) }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::InvalidValue, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<sinew_data::Error> for Error {
    fn from(e: sinew_data::Error) -> Self {
        Error::invalid(e.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
