//! [`Logs`]: the named values of a batch or an epoch that callbacks, History and the progress
//! display read, and how a batch's are assembled.

use crate::metrics::Metric;

/// Named values of one batch or epoch, in insertion order (`loss` first, as Keras prints them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs(pub Vec<(String, f64)>);

impl Logs {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
    pub fn set(&mut self, name: &str, v: f64) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(e) => e.1 = v,
            None => self.0.push((name.to_string(), v)),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Logs of a batch or epoch: `loss`, then per-output losses (several outputs only), then metrics.
pub(crate) fn batch_logs(
    loss: f64,
    parts: &[f64],
    names: &[String],
    metrics: &[Vec<Box<dyn Metric>>],
    prefix: &str,
) -> Logs {
    let mut logs = Logs::default();
    logs.set(&format!("{prefix}loss"), loss);
    if parts.len() > 1 {
        for (name, v) in names.iter().zip(parts) {
            logs.set(&format!("{prefix}{name}_loss"), *v);
        }
    }
    for m in metrics.iter().flatten() {
        logs.set(m.name(), m.result());
    }
    logs
}
