//! scikit-learn-style preprocessing on `[samples, features]` tensors: `train_test_split`,
//! `MinMaxScaler` and `StandardScaler`. Fitted scalers serialise to JSON, so they can travel with
//! a model.

use crate::error::{Error, Result};
use serde_json::{json, Value};
use sinew_tensor::{Rng, Tensor};

/// The rows of a split, as indices into the original samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// scikit-learn `train_test_split` on `n` samples: `test_size` is a fraction in (0, 1) (the test
/// count is rounded up, as scikit-learn does). With `shuffle`, rows are permuted by `seed`
/// (reproducible, but not scikit-learn's exact permutation). `stratify` gives one class id per
/// sample and keeps each class's share in both parts.
pub fn train_test_split(
    n: usize,
    test_size: f64,
    shuffle: bool,
    seed: u64,
    stratify: Option<&[usize]>,
) -> Result<SplitIndices> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::invalid(format!("train_test_split: test_size must be in (0, 1), got {test_size}")));
    }
    let n_test = (n as f64 * test_size).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::invalid(format!(
            "train_test_split: test_size {test_size} of {n} samples leaves an empty train or test set"
        )));
    }
    let mut rng = Rng::seed(seed);
    let Some(labels) = stratify else {
        let mut idx: Vec<usize> = (0..n).collect();
        if shuffle {
            rng.shuffle(&mut idx);
        }
        let test = idx.split_off(n - n_test);
        return Ok(SplitIndices { train: idx, test });
    };
    if labels.len() != n {
        return Err(Error::invalid(format!("train_test_split: stratify has {} labels for {n} samples", labels.len())));
    }
    if !shuffle {
        return Err(Error::invalid("train_test_split: stratify needs shuffle = true (as in scikit-learn)"));
    }
    // Per class, its share of the test rows (largest remainders get the leftovers).
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![vec![]; classes];
    for (i, &c) in labels.iter().enumerate() {
        by_class[c].push(i);
    }
    // scikit-learn's two refusals, with the counts: a class too small to be in both parts, and
    // parts too small to hold every class.
    if let Some((c, v)) = by_class.iter().enumerate().find(|(_, v)| v.len() == 1) {
        return Err(Error::invalid(format!(
            "train_test_split: class {c} has only {} sample; a stratified split needs at least 2 per class ({n} samples, {classes} classes)",
            v.len()
        )));
    }
    let present = by_class.iter().filter(|v| !v.is_empty()).count();
    if n_test < present || n - n_test < present {
        return Err(Error::invalid(format!(
            "train_test_split: test_size {test_size} of {n} samples gives {n_test} test and {} train rows for {present} classes; a stratified split needs at least one row per class in each part",
            n - n_test
        )));
    }
    let exact: Vec<f64> = by_class.iter().map(|v| v.len() as f64 * n_test as f64 / n as f64).collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..classes).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = n_test - take.iter().sum::<usize>();
    for &c in order.iter().cycle().take(classes * 2) {
        if left == 0 {
            break;
        }
        if take[c] < by_class[c].len() {
            take[c] += 1;
            left -= 1;
        }
    }
    let (mut train, mut test) = (vec![], vec![]);
    for (c, rows) in by_class.iter_mut().enumerate() {
        rng.shuffle(rows);
        test.extend_from_slice(&rows[..take[c]]);
        train.extend_from_slice(&rows[take[c]..]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok(SplitIndices { train, test })
}

fn columns(what: &str, x: &Tensor) -> Result<(usize, usize, Vec<f64>)> {
    if x.rank() != 2 {
        return Err(Error::invalid(format!("{what}: expected [samples, features], got shape {:?}", x.dims())));
    }
    let (n, d) = (x.dims()[0], x.dims()[1]);
    if d == 0 {
        return Err(Error::invalid(format!("{what}: no feature columns (shape {:?})", x.dims())));
    }
    let v = x.to_vec_f64();
    if let Some(i) = v.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "{what}: value at row {}, column {} is not finite",
            i / d.max(1),
            i % d.max(1)
        )));
    }
    Ok((n, d, v))
}

pub(crate) fn check_features(what: &str, want: usize, x: &Tensor) -> Result<()> {
    if x.rank() != 2 || x.dims()[1] != want {
        return Err(Error::invalid(format!("{what}: fitted on {want} features, got shape {:?}", x.dims())));
    }
    Ok(())
}

/// `x * scale + offset` per column.
fn affine(x: &Tensor, scale: &[f64], offset: &[f64]) -> Tensor {
    let d = scale.len();
    let s = Tensor::from_vec_f64(scale.to_vec(), [d]).to_dtype(x.dtype());
    let o = Tensor::from_vec_f64(offset.to_vec(), [d]).to_dtype(x.dtype());
    x.mul(&s).add(&o)
}

pub(crate) fn floats(v: &Value, what: &str, key: &str) -> Result<Vec<f64>> {
    v[key]
        .as_array()
        .and_then(|a| a.iter().map(Value::as_f64).collect())
        .ok_or_else(|| Error::invalid(format!("{what} config: {key} must be a list of numbers, got {}", v[key])))
}

/// scikit-learn `MinMaxScaler(feature_range=(0, 1))`: each column mapped linearly so its training
/// minimum and maximum land on the range. A constant column maps to the range's low end.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    pub data_min: Vec<f64>,
    pub data_max: Vec<f64>,
    pub feature_range: (f64, f64),
}

impl MinMaxScaler {
    pub fn fit(x: &Tensor) -> Result<Self> {
        Self::fit_range(x, (0.0, 1.0))
    }
    pub fn fit_range(x: &Tensor, feature_range: (f64, f64)) -> Result<Self> {
        if feature_range.0 >= feature_range.1 {
            return Err(Error::invalid(format!("MinMaxScaler: feature_range {feature_range:?} must be increasing")));
        }
        let (n, d, v) = columns("MinMaxScaler.fit", x)?;
        if n == 0 {
            return Err(Error::invalid("MinMaxScaler.fit: no samples"));
        }
        let (mut lo, mut hi) = (vec![f64::INFINITY; d], vec![f64::NEG_INFINITY; d]);
        for row in v.chunks(d) {
            for j in 0..d {
                lo[j] = lo[j].min(row[j]);
                hi[j] = hi[j].max(row[j]);
            }
        }
        Ok(MinMaxScaler { data_min: lo, data_max: hi, feature_range })
    }
    fn scale_offset(&self) -> (Vec<f64>, Vec<f64>) {
        let (a, b) = self.feature_range;
        let scale: Vec<f64> = self
            .data_min
            .iter()
            .zip(&self.data_max)
            .map(|(lo, hi)| (b - a) / if hi > lo { hi - lo } else { 1.0 })
            .collect();
        let offset = self.data_min.iter().zip(&scale).map(|(lo, s)| a - lo * s).collect();
        (scale, offset)
    }
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        check_features("MinMaxScaler.transform", self.data_min.len(), x)?;
        let (s, o) = self.scale_offset();
        Ok(affine(x, &s, &o))
    }
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        check_features("MinMaxScaler.inverse_transform", self.data_min.len(), x)?;
        let (s, o) = self.scale_offset();
        let inv: Vec<f64> = s.iter().map(|s| 1.0 / s).collect();
        let off: Vec<f64> = o.iter().zip(&inv).map(|(o, i)| -o * i).collect();
        Ok(affine(x, &inv, &off))
    }
    pub fn to_json(&self) -> Value {
        json!({"class_name": "MinMaxScaler", "data_min": self.data_min, "data_max": self.data_max,
               "feature_range": [self.feature_range.0, self.feature_range.1]})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let (lo, hi) = (floats(v, "MinMaxScaler", "data_min")?, floats(v, "MinMaxScaler", "data_max")?);
        let r = floats(v, "MinMaxScaler", "feature_range")?;
        if lo.len() != hi.len() || r.len() != 2 {
            return Err(Error::invalid(format!("MinMaxScaler config: inconsistent lengths in {v}")));
        }
        Ok(MinMaxScaler { data_min: lo, data_max: hi, feature_range: (r[0], r[1]) })
    }
}

/// scikit-learn `StandardScaler`: each column minus its training mean, divided by its training
/// standard deviation (population, ddof = 0). A constant column is only centred.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// scikit-learn `StandardScaler.partial_fit` for a stream: the running count, mean and sum of
/// squared deviations per column, updated chunk by chunk (Chan et al.'s combination of two
/// groups' moments, so the result equals one `fit` on all the rows seen, up to rounding).
/// [`RunningScaler::scaler`] gives the `StandardScaler` of what was seen so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunningScaler {
    pub count: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl RunningScaler {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn partial_fit(&mut self, x: &Tensor) -> Result<()> {
        let (n, d, v) = columns("RunningScaler.partial_fit", x)?;
        if n == 0 {
            return Ok(());
        }
        if self.count == 0 {
            (self.mean, self.m2) = (vec![0.0; d], vec![0.0; d]);
        } else if d != self.mean.len() {
            return Err(Error::invalid(format!(
                "RunningScaler.partial_fit: {d} features, the earlier chunks had {}",
                self.mean.len()
            )));
        }
        // The chunk's own mean and sum of squared deviations, then the two groups combined.
        let nb = n as f64;
        let mut mean_b = vec![0.0; d];
        for row in v.chunks(d) {
            mean_b.iter_mut().zip(row).for_each(|(m, x)| *m += x / nb);
        }
        let mut m2_b = vec![0.0; d];
        for row in v.chunks(d) {
            m2_b.iter_mut().zip(row).zip(&mean_b).for_each(|((s, x), m)| *s += (x - m).powi(2));
        }
        let na = self.count as f64;
        let total = na + nb;
        for j in 0..d {
            let delta = mean_b[j] - self.mean[j];
            self.m2[j] += m2_b[j] + delta * delta * na * nb / total;
            self.mean[j] += delta * nb / total;
        }
        self.count += n;
        Ok(())
    }
    /// The scaler of every row seen so far (a constant column keeps scale 1, as in `fit`).
    pub fn scaler(&self) -> Result<StandardScaler> {
        if self.count == 0 {
            return Err(Error::invalid("RunningScaler.scaler: no samples seen yet"));
        }
        // Combining chunks leaves rounding in a constant column's deviations: below 10 ulps of
        // its mean it counts as constant (scikit-learn's `_handle_zeros_in_scale` tolerance).
        let scale = self
            .m2
            .iter()
            .zip(&self.mean)
            .map(|(s, m)| ((s / self.count as f64).sqrt(), m))
            .map(|(s, m)| if s > 10.0 * f64::EPSILON * m.abs().max(1.0) { s } else { 1.0 })
            .collect();
        Ok(StandardScaler { mean: self.mean.clone(), scale })
    }
}

impl StandardScaler {
    pub fn fit(x: &Tensor) -> Result<Self> {
        let (n, d, v) = columns("StandardScaler.fit", x)?;
        if n == 0 {
            return Err(Error::invalid("StandardScaler.fit: no samples"));
        }
        let mut mean = vec![0.0; d];
        for row in v.chunks(d) {
            mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for row in v.chunks(d) {
            var.iter_mut().zip(row).zip(&mean).for_each(|((s, x), m)| *s += (x - m).powi(2));
        }
        let scale = var.iter().map(|s| (s / n as f64).sqrt()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
        Ok(StandardScaler { mean, scale })
    }
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        check_features("StandardScaler.transform", self.mean.len(), x)?;
        let inv: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let off: Vec<f64> = self.mean.iter().zip(&inv).map(|(m, i)| -m * i).collect();
        Ok(affine(x, &inv, &off))
    }
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        check_features("StandardScaler.inverse_transform", self.mean.len(), x)?;
        Ok(affine(x, &self.scale, &self.mean))
    }
    pub fn to_json(&self) -> Value {
        json!({"class_name": "StandardScaler", "mean": self.mean, "scale": self.scale})
    }
    pub fn from_json(v: &Value) -> Result<Self> {
        let (mean, scale) = (floats(v, "StandardScaler", "mean")?, floats(v, "StandardScaler", "scale")?);
        if mean.len() != scale.len() {
            return Err(Error::invalid(format!("StandardScaler config: inconsistent lengths in {v}")));
        }
        Ok(StandardScaler { mean, scale })
    }
}
