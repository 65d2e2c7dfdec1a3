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

/// The error of a lower crate behind an [`Error`], kept whole: its kind and structured fields
/// (a layer error's `argument` and `value`) stay readable by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// A layer, loss or initializer configuration error from `sinew-nn`.
    Layer(sinew_nn::Error),
    /// A data or pipeline error from `sinew-data`.
    Data(sinew_data::Error),
}

/// An error whose message names the thing and echoes its value.
///
/// An error converted from a lower crate's is transparent: its message is that error's, and
/// [`Error::cause`] holds the original (so its kind and fields are not lost on the way up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub cause: Option<Cause>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Config, message: message.into(), cause: None }
    }
    pub fn with_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), cause: None }
    }
    /// The layer error behind this one, if it came from `sinew-nn`.
    pub fn layer_error(&self) -> Option<&sinew_nn::Error> {
        match &self.cause {
            Some(Cause::Layer(e)) => Some(e),
            _ => None,
        }
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
        Error { kind: ErrorKind::Config, message: e.message.clone(), cause: Some(Cause::Layer(e)) }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A pipeline's error (a bad record, a batch of mismatched shapes) is a data error.
impl From<sinew_data::Error> for Error {
    fn from(e: sinew_data::Error) -> Self {
        Error { kind: ErrorKind::Data, message: e.message.clone(), cause: Some(Cause::Data(e)) }
    }
}
