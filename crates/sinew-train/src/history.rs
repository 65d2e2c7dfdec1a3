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
    /// This history followed by `later`'s epochs (a resumed fit's history after the epochs
    /// `BackupAndRestore` restored). A series missing from one side is padded with NaN, so every
    /// series keeps one value per epoch.
    pub fn then(&self, later: &History) -> History {
        let mut out = History { epoch: self.epoch.clone(), series: vec![] };
        out.epoch.extend(&later.epoch);
        let names: Vec<&str> = self.keys().chain(later.keys().filter(|k| self.get(k).is_none())).collect();
        for name in names {
            let pad = |h: &History| h.get(name).map(<[f64]>::to_vec).unwrap_or_else(|| vec![f64::NAN; h.epoch.len()]);
            let mut v = pad(self);
            v.extend(pad(later));
            out.series.push((name.to_string(), v));
        }
        out
    }
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let series: Vec<serde_json::Value> = self.series.iter().map(|(n, v)| serde_json::json!([n, v])).collect();
        serde_json::json!({ "epoch": self.epoch, "series": series })
    }
    /// Reads [`History::to_json`]'s value; `None` when it is not one.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<History> {
        let epoch: Vec<usize> =
            v["epoch"].as_array()?.iter().map(|e| e.as_u64().map(|e| e as usize)).collect::<Option<_>>()?;
        let mut series = vec![];
        for s in v["series"].as_array()? {
            let name = s[0].as_str()?.to_string();
            // NaN is written as null.
            let vals: Vec<f64> = s[1]
                .as_array()?
                .iter()
                .map(|x| x.as_f64().or(x.is_null().then_some(f64::NAN)))
                .collect::<Option<_>>()?;
            if vals.len() != epoch.len() {
                return None;
            }
            series.push((name, vals));
        }
        Some(History { epoch, series })
    }
}

impl std::ops::Index<&str> for History {
    type Output = [f64];
    fn index(&self, name: &str) -> &[f64] {
        self.get(name).unwrap_or_else(|| panic!("History has no series {name:?}"))
    }
}
