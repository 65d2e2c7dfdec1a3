//! The error type of `sinew-train`: model build, compile, data and file errors.

use std::fmt;

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The model, a layer or a compile argument is invalid.
    Config,
    /// Data given to fit/evaluate/predict does not fit the model.
    Data,
    /// A model file could not be read or written.
    Io,
    /// The model was used before it was built or compiled.
    State,
}

/// An error whose message names the thing and echoes its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Config, message: message.into() }
    }
    pub fn with_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn data(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::Data, message)
    }
    pub fn state(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::State, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<sinew_nn::Error> for Error {
    fn from(e: sinew_nn::Error) -> Self {
        Error::new(e.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A pipeline's error (a bad record, a batch of mismatched shapes) is a data error.
impl From<sinew_data::Error> for Error {
    fn from(e: sinew_data::Error) -> Self {
        Error::data(e.message)
    }
}
