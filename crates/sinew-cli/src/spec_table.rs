//! Reading one table of a TOML spec with errors that point at their line: `locate` finds the
//! line of a key in the n-th `[section]`/`[[section]]`, and `Table` wraps a parsed table with
//! typed getters whose errors read `file:line: section.key: message`.

use anyhow::{anyhow, Result};
use serde_json::Value;
use sinew::nn::suggest;
use std::path::{Path, PathBuf};

/// The line of `key` in the `occurrence`-th `[section]`/`[[section]]` of `src` (1-based), or of
/// the section header when the key is absent.
pub(crate) fn locate(src: &str, section: &str, occurrence: usize, key: Option<&str>) -> usize {
    let lines: Vec<&str> = src.lines().collect();
    let mut start = 0;
    if !section.is_empty() {
        let headers = [format!("[{section}]"), format!("[[{section}]]")];
        match lines.iter().enumerate().filter(|(_, l)| headers.iter().any(|h| l.trim() == h)).nth(occurrence) {
            Some((i, _)) => start = i,
            None => return 1,
        }
    }
    if let Some(key) = key {
        for (i, l) in lines.iter().enumerate().skip(start + usize::from(!section.is_empty())) {
            let t = l.trim_start();
            if t.starts_with('[') {
                break;
            }
            if t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                return i + 1;
            }
        }
    }
    start + 1
}

/// A reader over one table of the spec that reports errors at their line.
pub(crate) struct Table<'a> {
    pub(crate) src: &'a str,
    pub(crate) file: &'a Path,
    pub(crate) section: String,
    pub(crate) occurrence: usize,
    pub(crate) t: &'a toml::Table,
}

impl<'a> Table<'a> {
    pub(crate) fn err(&self, key: Option<&str>, msg: impl std::fmt::Display) -> anyhow::Error {
        let line = locate(self.src, &self.section, self.occurrence, key);
        let field = match (self.section.as_str(), key) {
            ("", Some(k)) => k.to_string(),
            (s, Some(k)) => format!("{s}.{k}"),
            (s, None) => s.to_string(),
        };
        if field.is_empty() {
            return anyhow!("{}:{line}: {msg}", self.file.display());
        }
        anyhow!("{}:{line}: {field}: {msg}", self.file.display())
    }
    /// Fails on a key outside `allowed`, suggesting the closest.
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<()> {
        for k in self.t.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(
                    self.err(Some(k), format!("unknown field{} (valid: {})", suggest(k, allowed), allowed.join(", ")))
                );
            }
        }
        Ok(())
    }
    pub(crate) fn sub(&self, key: &str) -> Result<Option<Table<'a>>> {
        match self.t.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(Table {
                src: self.src,
                file: self.file,
                section: if self.section.is_empty() { key.into() } else { format!("{}.{key}", self.section) },
                occurrence: 0,
                t,
            })),
            Some(v) => Err(self.err(Some(key), format!("expected a table, got {v}"))),
        }
    }
    pub(crate) fn str(&self, key: &str, default: Option<&str>) -> Result<String> {
        match (self.t.get(key), default) {
            (Some(toml::Value::String(s)), _) => Ok(s.clone()),
            (Some(v), _) => Err(self.err(Some(key), format!("expected a string, got {v}"))),
            (None, Some(d)) => Ok(d.into()),
            (None, None) => Err(self.err(None, format!("missing required field {key:?}"))),
        }
    }
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<String>> {
        self.t.get(key).map(|_| self.str(key, None)).transpose()
    }
    pub(crate) fn strs(&self, key: &str) -> Result<Vec<String>> {
        match self.t.get(key) {
            None => Ok(vec![]),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| self.err(Some(key), format!("expected strings, got {v}")))
                })
                .collect(),
            Some(v) => Err(self.err(Some(key), format!("expected a list of strings, got {v}"))),
        }
    }
    pub(crate) fn float(&self, key: &str, default: f64, range: (f64, f64)) -> Result<f64> {
        let v = match self.t.get(key) {
            None => return Ok(default),
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(v) => return Err(self.err(Some(key), format!("expected a number, got {v}"))),
        };
        if !(v >= range.0 && v <= range.1) {
            return Err(self.err(Some(key), format!("must be in [{}, {}], got {v}", range.0, range.1)));
        }
        Ok(v)
    }
    pub(crate) fn uint(&self, key: &str, default: Option<usize>) -> Result<usize> {
        match (self.t.get(key), default) {
            (Some(toml::Value::Integer(i)), _) if *i > 0 => Ok(*i as usize),
            (Some(v), _) => Err(self.err(Some(key), format!("must be a positive integer, got {v}"))),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(self.err(None, format!("missing required field {key:?}"))),
        }
    }
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.t.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(self.err(Some(key), format!("expected true or false, got {v}"))),
        }
    }
    /// A path relative to the spec file's folder; `datasets/NAME/...` is looked up in the data
    /// directory (`SINEW_DATA_DIR`, the checkout's `../shared/data`, `~/.cache/sinew/datasets`).
    pub(crate) fn path(&self, key: &str) -> Result<Option<PathBuf>> {
        let Some(p) = self.opt_str(key)? else { return Ok(None) };
        if let Some(rest) = p.strip_prefix("datasets/") {
            let (name, file) = rest.split_once('/').unwrap_or((rest, ""));
            let dir = sinew::data::find_dataset(name).map_err(|e| self.err(Some(key), e))?;
            return Ok(Some(dir.join(file)));
        }
        let base = self.file.parent().unwrap_or(Path::new("."));
        Ok(Some(base.join(p)))
    }
}

pub(crate) fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
