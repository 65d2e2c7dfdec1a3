//! Output hygiene: human text on stdout (or on stderr under `--json`, so stdout carries only the
//! JSON), nothing under `--quiet`; progress bars always go to stderr (the training loop's).

/// How the command talks.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    pub quiet: bool,
    pub json: bool,
}

impl Out {
    /// A line of human-readable output.
    pub fn say(&self, text: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        if self.json {
            eprintln!("{}", text.as_ref());
        } else {
            println!("{}", text.as_ref());
        }
    }
    /// The `verbose` argument for `fit`: a progress bar unless quiet or machine-readable.
    pub fn verbose(&self) -> u8 {
        if self.quiet {
            0
        } else {
            1
        }
    }
    /// The machine-readable result, printed to stdout under `--json`.
    pub fn result(&self, v: &serde_json::Value) {
        if self.json {
            println!("{v}");
        }
    }
}
