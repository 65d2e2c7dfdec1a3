//! [`DataParallel`]: `fit` on every rank with a training step that runs this rank's shard of
//! each global batch and sums the gradients over the ranks.

use crate::comm::Communicator;
use sinew_tensor::{Gradients, Tensor};
use sinew_train::{Error, Fit, History, Model, Result};

/// Gradients are summed in buckets of this many values (8 MB of f64), so a large model's
/// reduction does not need one buffer the size of all its weights twice over.
pub const BUCKET_FLOATS: usize = 1 << 20;

/// The rows `[start, start + len)` of a batch of `n` rows that `rank` of `size` takes: `n /
/// size` each, one more for the first `n % size` ranks. Empty when `n < size` for the last ranks.
pub fn shard(n: usize, rank: usize, size: usize) -> (usize, usize) {
    let (base, extra) = (n / size, n % size);
    let len = base + usize::from(rank < extra);
    (rank * base + rank.min(extra), len)
}

/// Data-parallel `fit` over the ranks of a [`Communicator`].
pub struct DataParallel<'c, C: Communicator> {
    comm: &'c C,
}

impl<'c, C: Communicator> DataParallel<'c, C> {
    pub fn new(comm: &'c C) -> Self {
        DataParallel { comm }
    }

    /// Rank 0's weights on every rank (the first thing a data-parallel run does, so ranks that
    /// built their models differently start alike).
    pub fn broadcast_weights(&self, model: &mut Model) -> Result<()> {
        let w = model.get_weights();
        let mut flat: Vec<f64> = w.iter().flat_map(|t| t.to_vec_f32()).map(f64::from).collect();
        self.comm.broadcast(&mut flat);
        model.set_weights(&unflatten(&flat, &w))
    }

    /// `model.fit(x, y, opts)` on this rank, every rank calling it with the same data, seed and
    /// options (set `verbose(0)` on every rank but 0). The weights are broadcast from rank 0
    /// first. Each step: this rank's shard of the global batch forward and backward, its
    /// mean-loss gradient weighted by its share of the rows, summed over the ranks, one optimizer
    /// step; the non-trainable weights (BatchNormalization's moving statistics) are then
    /// averaged over the ranks by the same shares, so every rank keeps the same model. The
    /// returned loss of each step is the global batch's. Validation, callbacks and `History`
    /// run on every rank over the same weights, so they see the same figures and decide alike.
    ///
    /// The step is a custom one (`Fit::train_step`): training metrics other than the loss are
    /// not computed (validation metrics are), sample and class weights are not applied, and
    /// the model must have one input and one output.
    pub fn fit<'a>(&'a self, model: &mut Model, x: &Tensor, y: &Tensor, opts: Fit<'a>) -> Result<History> {
        self.broadcast_weights(model)?;
        let comm = self.comm;
        let (rank, size) = (comm.rank(), comm.size());
        let step = move |m: &mut Model, xb: &Tensor, yb: &Tensor| -> Result<f64> {
            let n = xb.dims()[0];
            let (start, len) = shard(n, rank, size);
            let share = len as f64 / n as f64;
            let ids = m.weight_ids();
            let trainable = m.trainable_mask();
            let weights = m.get_weights();
            let total: usize = weights.iter().map(Tensor::numel).sum();
            let mut flat = vec![0.0f64; total + 1];
            if len > 0 {
                let pred = m.call(&xb.narrow(0, start, len), true)?;
                let loss = m.compute_loss(&yb.narrow(0, start, len), &pred)?;
                let grads = loss.backward();
                let mut at = 0;
                for ((id, w), on) in ids.iter().zip(&weights).zip(&trainable) {
                    if let (true, Some(g)) = (*on, grads.get_by_id(*id)) {
                        for (slot, v) in flat[at..at + w.numel()].iter_mut().zip(g.to_vec_f32()) {
                            *slot = f64::from(v) * share;
                        }
                    }
                    at += w.numel();
                }
                flat[total] = loss.item() * share;
            }
            for bucket in flat.chunks_mut(BUCKET_FLOATS) {
                comm.all_reduce_sum(bucket);
            }
            let mut reduced = Gradients::default();
            let mut at = 0;
            for ((id, w), on) in ids.iter().zip(&weights).zip(&trainable) {
                if *on {
                    let g: Vec<f32> = flat[at..at + w.numel()].iter().map(|&v| v as f32).collect();
                    reduced.insert(*id, Tensor::from_vec(g, w.shape().clone()));
                }
                at += w.numel();
            }
            m.apply_gradients(&reduced)?;
            average_frozen(comm, m, &trainable, share)?;
            Ok(flat[total])
        };
        model.fit(x, y, opts.train_step(step))
    }
}

/// The non-trainable weights averaged over the ranks, each rank weighted by `share`.
fn average_frozen<C: Communicator>(comm: &C, m: &mut Model, trainable: &[bool], share: f64) -> Result<()> {
    if trainable.iter().all(|&t| t) {
        return Ok(());
    }
    let mut w = m.get_weights();
    let mut flat: Vec<f64> = w
        .iter()
        .zip(trainable)
        .filter(|(_, &t)| !t)
        .flat_map(|(t, _)| t.to_vec_f32())
        .map(|v| f64::from(v) * share)
        .collect();
    comm.all_reduce_sum(&mut flat);
    let mut at = 0;
    for (t, _) in w.iter_mut().zip(trainable).filter(|(_, &on)| !on) {
        let n = t.numel();
        *t = Tensor::from_vec(flat[at..at + n].iter().map(|&v| v as f32).collect(), t.shape().clone());
        at += n;
    }
    m.set_weights(&w).map_err(|e| Error::new(format!("DataParallel: {e}")))
}

/// Tensors shaped like `like`, filled from `flat` in order.
fn unflatten(flat: &[f64], like: &[Tensor]) -> Vec<Tensor> {
    let mut at = 0;
    like.iter()
        .map(|t| {
            let n = t.numel();
            let out = Tensor::from_vec(flat[at..at + n].iter().map(|&v| v as f32).collect(), t.shape().clone());
            at += n;
            out
        })
        .collect()
}
