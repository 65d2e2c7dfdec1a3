//! Sliding windows over a time series: Keras `timeseries_dataset_from_array`, materialised as
//! tensors (batching and shuffling belong to the pipeline that consumes them).

use crate::error::{Error, Result};
use sinew_tensor::Tensor;

/// Window options, with Keras' defaults (`sequence_stride` 1, `sampling_rate` 1, the whole
/// series).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub sequence_length: usize,
    pub sequence_stride: usize,
    pub sampling_rate: usize,
    pub start_index: usize,
    /// Exclusive; `None` is the end of the series.
    pub end_index: Option<usize>,
}

impl Windows {
    pub fn new(sequence_length: usize) -> Self {
        Windows { sequence_length, sequence_stride: 1, sampling_rate: 1, start_index: 0, end_index: None }
    }
    pub fn sequence_stride(mut self, s: usize) -> Self {
        self.sequence_stride = s;
        self
    }
    pub fn sampling_rate(mut self, r: usize) -> Self {
        self.sampling_rate = r;
        self
    }
    pub fn range(mut self, start: usize, end: usize) -> Self {
        (self.start_index, self.end_index) = (start, Some(end));
        self
    }
}

/// Keras `timeseries_dataset_from_array` without batching: window `k` starts at
/// `start_index + k * sequence_stride` and takes `sequence_length` steps `sampling_rate`
/// apart; with `targets`, window `k`'s target is `targets[start]` (Keras: `targets[i]` belongs to
/// the window starting at `i`). `data` is `[steps]` or `[steps, features]`; the windows are
/// `[windows, sequence_length, features]`.
pub fn timeseries_windows(data: &Tensor, targets: Option<&Tensor>, w: Windows) -> Result<(Tensor, Option<Tensor>)> {
    let data = if data.rank() == 1 { data.reshape([data.numel(), 1]) } else { data.clone() };
    if data.rank() != 2 {
        return Err(Error::invalid(format!(
            "timeseries_windows: data must be [steps] or [steps, features], got {:?}",
            data.dims()
        )));
    }
    let (steps, feats) = (data.dims()[0], data.dims()[1]);
    if w.sequence_length == 0 || w.sequence_stride == 0 || w.sampling_rate == 0 {
        return Err(Error::invalid(format!(
            "timeseries_windows: sequence_length, sequence_stride and sampling_rate must be positive, got {w:?}"
        )));
    }
    let end = w.end_index.unwrap_or(steps);
    if end > steps || w.start_index >= end {
        return Err(Error::invalid(format!(
            "timeseries_windows: range {}..{end} does not fit {steps} steps",
            w.start_index
        )));
    }
    let span = (w.sequence_length - 1) * w.sampling_rate;
    let available = (end - w.start_index).saturating_sub(span);
    let mut count = available;
    if let Some(t) = targets {
        count = count.min(t.dims().first().copied().unwrap_or(0).saturating_sub(w.start_index));
    }
    if count == 0 {
        return Err(Error::invalid(format!(
            "timeseries_windows: a window of {} steps at sampling rate {} does not fit in {} steps",
            w.sequence_length,
            w.sampling_rate,
            end - w.start_index
        )));
    }
    let starts: Vec<usize> = (0..count).step_by(w.sequence_stride).map(|k| w.start_index + k).collect();
    let v = data.to_vec_f64();
    let mut out = Vec::with_capacity(starts.len() * w.sequence_length * feats);
    for &s in &starts {
        for t in 0..w.sequence_length {
            let row = s + t * w.sampling_rate;
            out.extend_from_slice(&v[row * feats..(row + 1) * feats]);
        }
    }
    let x = Tensor::from_vec_f64(out, [starts.len(), w.sequence_length, feats]).to_dtype(data.dtype());
    let y = targets.map(|t| t.index_select(0, &starts));
    Ok((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_keras_semantics() {
        // Keras docs example: data 0..100, sequence_length 10, sampling_rate 2: the first window is
        // 0, 2, ..., 18 and the second 1, 3, ..., 19.
        let data = Tensor::from_vec((0..100).map(|v| v as f32).collect(), [100]);
        let (x, _) = timeseries_windows(&data, None, Windows::new(10).sampling_rate(2)).unwrap();
        assert_eq!(x.dims(), &[82, 10, 1]);
        assert_eq!(x.narrow(0, 0, 1).to_vec_f32(), (0..10).map(|v| (2 * v) as f32).collect::<Vec<_>>());
        assert_eq!(x.narrow(0, 1, 1).to_vec_f32(), (0..10).map(|v| (2 * v + 1) as f32).collect::<Vec<_>>());
        // Forecasting: targets shifted by the window length, stride 3.
        let y = data.narrow(0, 5, 95);
        let (x, t) = timeseries_windows(&data, Some(&y), Windows::new(5).sequence_stride(3)).unwrap();
        let t = t.unwrap().to_vec_f32();
        assert_eq!(x.dims()[0], t.len());
        assert_eq!((x.narrow(0, 1, 1).to_vec_f32(), t[1]), (vec![3., 4., 5., 6., 7.], 8.0));
        assert!(timeseries_windows(&data, None, Windows::new(200)).unwrap_err().message.contains("does not fit"));
        assert!(timeseries_windows(&data, None, Windows::new(3).range(50, 120)).is_err());
    }
}
