//! The error type of `sinew-nn`: layer configuration and build errors.

use std::fmt;

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument is out of range ("Dense: units must be a positive integer, got 0").
    InvalidArgument,
    /// An input shape does not fit the layer.
    IncompatibleShape,
    /// A name (activation, initializer, loss) is unknown.
    UnknownName,
    /// A saved config or weight set does not match.
    Mismatch,
}

/// An error with a Keras-style message that names the argument and echoes its value. Where the
/// error is about one argument of a layer, `argument` and `value` say which, so a caller (the
/// spec reader) can point at it without reading the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The argument the error is about (`units`), when it is about one.
    pub argument: Option<String>,
    /// That argument's value as written (JSON), when known.
    pub value: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), argument: None, value: None }
    }
    /// The same error, about argument `name` (with its value, if known).
    pub fn about(mut self, name: &str, value: Option<String>) -> Self {
        self.argument = Some(name.to_string());
        self.value = value;
        self
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn shape(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::IncompatibleShape, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
