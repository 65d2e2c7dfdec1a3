//! The error type of `sinew-data`: every message names the file and what was wrong with it.

use std::fmt;
use std::path::{Path, PathBuf};

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

/// A data error. Where it is about a file, `file` names it (the message starts with it too),
/// so a caller can point at the file without reading the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The file the error is about, when it is about one.
    pub file: Option<PathBuf>,
    /// The data row the error is about (0-based, in the order of the table or values the
    /// function was given), so a caller that knows where each row came from can name the line
    /// of the user's file.
    pub row: Option<usize>,
}

impl Error {
    pub fn io(path: &Path, e: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Io,
            message: format!("{}: {e}", path.display()),
            file: Some(path.to_path_buf()),
            row: None,
        }
    }
    pub fn format(path: &Path, what: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Format,
            message: format!("{}: {what}", path.display()),
            file: Some(path.to_path_buf()),
            row: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::InvalidValue, message: message.into(), file: None, row: None }
    }
    /// The same error, about data row `row`.
    pub fn at_row(mut self, row: usize) -> Self {
        self.row = Some(row);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
