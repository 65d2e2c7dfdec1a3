//! The error type of `sinew-data`: every message names the file and what was wrong with it.

use std::fmt;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file is missing or unreadable.
    Io,
    /// The file is readable but its contents are not what the format requires.
    Format,
    /// A value handed to a function is outside what it accepts (a label out of range).
    InvalidValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn io(path: &Path, e: impl fmt::Display) -> Self {
        Error { kind: ErrorKind::Io, message: format!("{}: {e}", path.display()) }
    }
    pub fn format(path: &Path, what: impl fmt::Display) -> Self {
        Error { kind: ErrorKind::Format, message: format!("{}: {what}", path.display()) }
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

pub type Result<T> = std::result::Result<T, Error>;
