//! `[search]`: a grid or random hyperparameter search over a spec. Each key other than the
//! search's own settings lists the values of one hyperparameter:
//!
//! ```toml
//! [search]
//! objective = "val_loss"      # what ranks the trials (the default)
//! units = [32, 64, 128]       # used as "$units" in a layer
//! dropout = [0.0, 0.2]        # used as "$dropout"
//! learning_rate = [1e-3, 3e-4] # a compile field: no placeholder needed
//! ```
//!
//! A value goes where the spec writes `"$name"` in `[model]`, `[compile]` or `[fit]`; a
//! hyperparameter named like a compile or fit field (`learning_rate`, `batch_size`, ...) that no
//! placeholder uses sets that field. Every value is checked when the spec is read, so a bad
//! value fails `sinew check`, not the fifth trial.

use crate::spec::{parse_table, ModelKind, Spec};
use crate::spec_table::{locate, Table};
use anyhow::{anyhow, Result};
use sinew::nn::suggest;
use sinew::train::{HParams, HValue, SearchSpace, Tuner};
use std::path::Path;

/// The search's own settings (every other key is a hyperparameter).
const SETTINGS: &[&str] = &["strategy", "trials", "objective", "patience", "workers"];
/// Fields a hyperparameter sets by its name alone, and their section.
const FIELDS: &[(&str, &str)] = &[
    ("optimizer", "compile"),
    ("learning_rate", "compile"),
    ("momentum", "compile"),
    ("epochs", "fit"),
    ("batch_size", "fit"),
    ("validation_split", "fit"),
];
/// A grid larger than this is refused (a random search samples it instead).
const MAX_GRID: usize = 10_000;

/// A parsed `[search]`.
#[derive(Clone, Debug)]
pub struct SearchSpec {
    /// Each hyperparameter and its values, in the spec's order.
    pub params: Vec<(String, Vec<HValue>)>,
    /// `strategy = "random"`: how many combinations to draw; `None` for the whole grid.
    pub trials: Option<usize>,
    pub objective: String,
    /// Early stopping within a trial after this many epochs without a better objective.
    pub patience: Option<usize>,
    /// Trials run at once, each on one core.
    pub workers: usize,
    /// The spec without `[search]`, placeholders in place.
    root: toml::Table,
    src: String,
}

impl SearchSpec {
    /// The tuner this search describes (a random search draws from `seed`).
    pub fn tuner(&self, seed: u64) -> Tuner {
        let t = match self.trials {
            Some(n) => Tuner::random(self.space(), &self.objective, n, seed),
            None => Tuner::grid(self.space(), &self.objective),
        };
        let t = t.workers(self.workers);
        match self.patience {
            Some(p) => t.early_stopping(p),
            None => t,
        }
    }

    fn space(&self) -> SearchSpace {
        self.params.iter().fold(SearchSpace::new(), |s, (name, values)| s.choice(name, values.iter().cloned()))
    }

    /// The spec of one trial: the values of `p` in place of their placeholders and fields.
    pub fn trial(&self, file: &Path, p: &HParams) -> Result<Spec> {
        let mut root = self.root.clone();
        for (name, value) in &p.0 {
            if !uses(&root, name) {
                if let Some((_, section)) = FIELDS.iter().find(|(f, _)| f == name) {
                    let t = root.entry(section.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
                    if let toml::Value::Table(t) = t {
                        t.insert(name.clone(), to_toml(value));
                    }
                }
            }
        }
        for (_, v) in root.iter_mut() {
            substitute(v, p);
        }
        parse_table(&root, &self.src, file).map_err(|e| anyhow!("{e} (in the search's trial with {p})"))
    }
}

fn to_toml(v: &HValue) -> toml::Value {
    match v {
        HValue::Int(i) => toml::Value::Integer(*i),
        HValue::Float(x) => toml::Value::Float(*x),
        HValue::Str(s) => toml::Value::String(s.clone()),
        HValue::Bool(b) => toml::Value::Boolean(*b),
    }
}

/// The placeholder a value is, if it is one (`"$units"` -> `units`).
fn placeholder(v: &toml::Value) -> Option<&str> {
    v.as_str().and_then(|s| s.strip_prefix('$'))
}

/// Every placeholder under `v`, in order.
fn placeholders<'a>(v: &'a toml::Value, out: &mut Vec<&'a str>) {
    match v {
        toml::Value::Array(a) => a.iter().for_each(|x| placeholders(x, out)),
        toml::Value::Table(t) => t.values().for_each(|x| placeholders(x, out)),
        v => out.extend(placeholder(v)),
    }
}

/// Whether the spec writes `"$name"` anywhere.
fn uses(root: &toml::Table, name: &str) -> bool {
    let mut found = vec![];
    root.values().for_each(|v| placeholders(v, &mut found));
    found.contains(&name)
}

fn substitute(v: &mut toml::Value, p: &HParams) {
    match v {
        toml::Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, p)),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, x)| substitute(x, p)),
        other => {
            if let Some(value) = placeholder(other).and_then(|name| p.get(name)) {
                *other = to_toml(value);
            }
        }
    }
}

/// The 1-based line where `"$name"` first appears in the text.
fn line_of(src: &str, name: &str) -> usize {
    let quoted = [format!("\"${name}\""), format!("'${name}'")];
    src.lines()
        .position(|l| !l.trim_start().starts_with('#') && quoted.iter().any(|q| l.contains(q.as_str())))
        .map_or(1, |i| i + 1)
}

/// Reads a spec with a `[search]` table: the search, checked against every combination, and
/// the first trial's spec, which carries it.
pub(crate) fn parse(mut root: toml::Table, src: &str, file: &Path) -> Result<Spec> {
    let search_table = match root.remove("search") {
        Some(toml::Value::Table(t)) => t,
        Some(v) => {
            let top = Table { src, file, section: String::new(), occurrence: 0, t: &root };
            return Err(top.err(Some("search"), format!("expected a table, got {v}")));
        }
        None => unreachable!("parse is called for a spec with [search]"),
    };
    let t = Table { src, file, section: "search".into(), occurrence: 0, t: &search_table };
    let strategy = t.str("strategy", Some("grid"))?;
    let trials = match strategy.as_str() {
        "grid" if t.t.contains_key("trials") => {
            return Err(t.err(Some("trials"), "applies to strategy = \"random\" (a grid runs every combination)"))
        }
        "grid" => None,
        "random" => Some(t.uint("trials", None)?),
        other => {
            return Err(t.err(
                Some("strategy"),
                format!("must be \"grid\" or \"random\", got {other:?}{}", suggest(other, &["grid", "random"])),
            ))
        }
    };
    let objective = t.str("objective", Some("val_loss"))?;
    let patience = t.t.get("patience").map(|_| t.uint("patience", None)).transpose()?;
    let workers = t.uint("workers", Some(1))?;

    let mut params = vec![];
    for (name, v) in &search_table {
        if SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let values = match v {
            toml::Value::Array(a) if !a.is_empty() => a,
            _ => {
                return Err(t.err(
                    Some(name),
                    format!(
                        "a hyperparameter lists its values (for example {name} = [32, 64]), got {v}; the search's own settings are {}",
                        SETTINGS.join(", ")
                    ),
                ))
            }
        };
        let values = values
            .iter()
            .map(|x| match x {
                toml::Value::Integer(i) => Ok(HValue::Int(*i)),
                toml::Value::Float(f) => Ok(HValue::Float(*f)),
                toml::Value::String(s) => Ok(HValue::Str(s.clone())),
                toml::Value::Boolean(b) => Ok(HValue::Bool(*b)),
                other => Err(t.err(Some(name), format!("values must be numbers, strings or booleans, got {other}"))),
            })
            .collect::<Result<Vec<_>>>()?;
        params.push((name.clone(), values));
    }
    // In the spec's order (a TOML table reads back sorted by key).
    params.sort_by_key(|(name, _)| locate(src, "search", 0, Some(name)));
    if params.is_empty() {
        return Err(t.err(None, "lists no hyperparameter (for example units = [32, 64, 128])"));
    }
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();

    // Every placeholder names a hyperparameter, and sits where a search may vary things.
    for (section, v) in &root {
        let mut found = vec![];
        placeholders(v, &mut found);
        for name in found {
            let line = line_of(src, name);
            if !names.contains(&name) {
                return Err(anyhow!(
                    "{}:{line}: \"${name}\" names no hyperparameter of [search]{} (it lists {})",
                    file.display(),
                    suggest(name, &names),
                    names.join(", ")
                ));
            }
            if !["model", "compile", "fit"].contains(&section.as_str()) {
                return Err(anyhow!(
                    "{}:{line}: \"${name}\" in [{section}]: a search varies [model], [compile] and [fit] only",
                    file.display()
                ));
            }
        }
    }
    // Every hyperparameter is used by a placeholder or sets a field of its name.
    for name in &names {
        if !uses(&root, name) && !FIELDS.iter().any(|(f, _)| f == name) {
            let fields: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
            return Err(t.err(
                Some(name),
                format!(
                    "no \"${name}\" in the spec uses it; write {name} = \"${name}\" where it goes (the fields a hyperparameter sets by its name alone: {})",
                    fields.join(", ")
                ),
            ));
        }
    }

    let search = SearchSpec { params, trials, objective, patience, workers, root, src: src.to_string() };
    let space_size: usize = search.params.iter().map(|(_, v)| v.len()).product();
    if space_size > MAX_GRID {
        return Err(t.err(None, format!("the grid has {space_size} combinations, more than {MAX_GRID}")));
    }
    // Every value makes a valid spec: each hyperparameter's values in turn, the others at their
    // first (a value that only fails beside another fails when `sinew train` reads every
    // planned trial's spec, still before any training).
    let firsts: Vec<(String, HValue)> = search.params.iter().map(|(n, v)| (n.clone(), v[0].clone())).collect();
    let mut probes = vec![HParams(firsts.clone())];
    for (i, (_, values)) in search.params.iter().enumerate() {
        for v in &values[1..] {
            let mut p = firsts.clone();
            p[i].1 = v.clone();
            probes.push(HParams(p));
        }
    }
    let mut first = None;
    for p in probes {
        let trial = search.trial(file, &p)?;
        if !matches!(trial.kind, ModelKind::Plain)
            || trial.pretrain.is_some()
            || trial.fit.stream
            || trial.outputs.len() > 1
        {
            return Err(t.err(
                None,
                "applies to a single-output sequential or functional model without [pretrain] or fit.stream",
            ));
        }
        let validated = trial.fit.validation_split > 0.0 || trial.fit.validate_on_test;
        if search.objective.starts_with("val_") && !validated {
            return Err(t.err(
                Some("objective"),
                format!("{:?} needs validation data: set fit.validation_split (with {p})", search.objective),
            ));
        }
        first.get_or_insert(trial);
    }
    let mut spec = first.expect("the grid has at least one combination");
    spec.search = Some(Box::new(search));
    Ok(spec)
}
