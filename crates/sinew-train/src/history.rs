//! Keras `History`: the per-epoch logs returned by `fit`.

use crate::logs::Logs;

/// Every logged value per epoch (`history["loss"]`, `history["val_accuracy"]`, ...).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs (0-based) that ran.
    pub epoch: Vec<usize>,
    series: Vec<(String, Vec<f64>)>,
}

impl History {
    pub(crate) fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs.iter() {
            match self.series.iter_mut().find(|(n, _)| n == k) {
                Some((_, s)) => s.push(v),
                None => self.series.push((k.to_string(), vec![v])),
            }
        }
    }
    /// The values of `name` per epoch.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.series.iter().find(|(n, _)| n == name).map(|(_, s)| s.as_slice())
    }
    /// Every series name, in first-logged order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|(n, _)| n.as_str())
    }
}

impl std::ops::Index<&str> for History {
    type Output = [f64];
    fn index(&self, name: &str) -> &[f64] {
        self.get(name).unwrap_or_else(|| panic!("History has no series {name:?}"))
    }
}
