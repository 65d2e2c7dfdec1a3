//! Learning from a stream (issue 20), as scikit-multiflow does it: [`Model::partial_fit`] takes
//! one arriving chunk, and [`Prequential`] evaluates test-then-train: each chunk is first
//! predicted by the model as it stands, then learned, and the running accuracy is recorded.

use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::logs::Logs;
use crate::model::Model;
use sinew_tensor::Tensor;

impl Model {
    /// One pass over a chunk that just arrived, in order, in batches of `batch_size` (scikit-
    /// learn's `partial_fit`); the model keeps its optimizer state between chunks. Returns the
    /// pass's logs.
    pub fn partial_fit(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        let h = self.fit(x, y, Fit::new().epochs(1).batch_size(batch_size).shuffle(false).verbose(0))?;
        let mut logs = Logs::default();
        if let Some(v) = h.get("loss").and_then(|s| s.last()) {
            logs.set("loss", *v);
        }
        Ok(logs)
    }
}

/// Prequential (test-then-train) evaluation of a classifier: the accuracy over every sample
/// seen so far, each predicted before it was learned. Targets are one-hot rows (a softmax
/// output, scored by argmax) or one 0/1 column (a sigmoid output, scored at 0.5).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prequential {
    pub seen: usize,
    pub correct: usize,
    /// (samples seen, running accuracy) after each chunk.
    pub curve: Vec<(usize, f64)>,
}

impl Prequential {
    pub fn new() -> Self {
        Self::default()
    }
    /// The running accuracy.
    pub fn accuracy(&self) -> f64 {
        if self.seen == 0 {
            f64::NAN
        } else {
            self.correct as f64 / self.seen as f64
        }
    }
    /// Tests `model` on the chunk, then trains it on the chunk ([`Model::partial_fit`]).
    pub fn step(&mut self, model: &mut Model, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<f64> {
        let n = x.dims().first().copied().unwrap_or(0);
        if n == 0 || y.dims().first() != Some(&n) {
            return Err(Error::new(format!("Prequential.step: a chunk of {n} samples with targets {:?}", y.dims())));
        }
        let p = model.predict(x, batch_size)?;
        let (pv, yv) = (p.to_vec_f32(), y.to_vec_f32());
        let k = pv.len() / n;
        let argmax = |r: &[f32]| r.iter().enumerate().fold(0, |b, (i, &v)| if v > r[b] { i } else { b });
        self.correct += (0..n)
            .filter(|&i| {
                let (pr, yr) = (&pv[i * k..(i + 1) * k], &yv[i * k..(i + 1) * k]);
                if k == 1 {
                    (pr[0] >= 0.5) == (yr[0] >= 0.5)
                } else {
                    argmax(pr) == argmax(yr)
                }
            })
            .count();
        self.seen += n;
        self.curve.push((self.seen, self.accuracy()));
        model.partial_fit(x, y, batch_size)?;
        Ok(self.accuracy())
    }
}
