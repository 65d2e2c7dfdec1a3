//! [`DataParallel`]: `fit` on every rank with a training step that runs this rank's shard of
//! each global batch and sums the gradients over the ranks.

use crate::comm::Communicator;
use crate::exchange::{Exchange, Fill, Layout, BUCKET_FLOATS};
use sinew_tensor::runtime::{with_replicas, Replicas};
use sinew_tensor::{Shape, Tensor, TensorId};
use sinew_train::{Error, Fit, History, Model, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// The rows `[start, start + len)` of a batch of `n` rows that `rank` of `size` takes: `n /
/// size` each, one more for the first `n % size` ranks. A batch with fewer rows than ranks (the
/// last, short batch of an epoch) runs whole on rank 0, the others taking none: no rank runs a
/// step on zero rows, and the step is the one a single process runs, batch statistics
/// included.
pub fn shard(n: usize, rank: usize, size: usize) -> (usize, usize) {
    if n < size {
        return (0, if rank == 0 { n } else { 0 });
    }
    let (base, extra) = (n / size, n % size);
    let len = base + usize::from(rank < extra);
    (rank * base + rank.min(extra), len)
}

/// Data-parallel `fit` over the ranks of a [`Communicator`].
pub struct DataParallel<C: Communicator> {
    comm: C,
    overlap: bool,
}

/// The ranks of one step as the engine sees them ([`Replicas`]): what synchronised
/// BatchNormalization sums its batch moments over.
struct StepReplicas<C> {
    comm: Arc<C>,
    share: f64,
}

impl<C: Communicator> Replicas for StepReplicas<C> {
    fn size(&self) -> usize {
        self.comm.size()
    }
    fn sum(&self, buf: &mut [f64]) {
        self.comm.all_reduce_sum(buf);
    }
    fn share(&self) -> f64 {
        self.share
    }
}

impl<C: Communicator> DataParallel<C> {
    pub fn new(comm: C) -> Self {
        DataParallel { comm, overlap: false }
    }

    /// Whether gradients are summed while the backward pass goes on, on a thread of each rank's
    /// own (where the communicator allows it: [`Communicator::concurrent`]), or after it (the
    /// default). The sums are the same either way, bit for bit. The exchange thread needs a core
    /// of its own: MPI waits by polling, so on a machine with no spare core it takes time from
    /// the backward pass instead of hiding the exchange behind it (on the project's 2-core
    /// machine, 2 ranks ran 25-45% slower with it; BENCHMARKS.md).
    pub fn overlap(mut self, on: bool) -> Self {
        self.overlap = on;
        self
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
    /// options (set `verbose(0)` on every rank but 0); on one rank, plain `fit`. The weights
    /// are broadcast from rank 0 first. Each step: this rank's shard of the global batch forward
    /// and backward, its mean-loss gradient weighted by its share of the rows, summed over the
    /// ranks in buckets of about 1 MB ([`BUCKET_FLOATS`]), last layers first (with
    /// [`DataParallel::overlap`], each bucket as soon as the backward pass has finished it), one
    /// optimizer step; the non-trainable weights (BatchNormalization's moving statistics) are then
    /// averaged over the ranks by the same shares, so every rank keeps the same model. The
    /// returned loss of each step is the global batch's. Validation, callbacks and `History`
    /// run on every rank over the same weights, so they see the same figures and decide alike.
    ///
    /// BatchNormalization normalises each rank's shard with that shard's statistics, unless it
    /// was built with `synchronized(true)`: then the step's ranks are handed to the engine
    /// ([`Replicas`]) and the batch moments are summed over them, forward and backward.
    ///
    /// The training metrics are computed on the global batch's predictions, gathered from the
    /// ranks, so `History` holds what one process reports. The step is a custom one
    /// (`Fit::train_step`): sample and class weights are not applied, and the model must have
    /// one input and one output.
    pub fn fit(self, model: &mut Model, x: &Tensor, y: &Tensor, opts: Fit<'_>) -> Result<History>
    where
        C: 'static,
    {
        if self.comm.size() == 1 {
            return model.fit(x, y, opts);
        }
        if model.input_shapes().is_empty() {
            // A Sequential model without an input shape builds at its first batch: rank 0's
            // weights could not be broadcast first, nor the gradient buckets laid out.
            return Err(Error::new(
                "DataParallel::fit: the model has no input shape yet; give it one (`input(&[...])`) so every \
                 rank starts from rank 0's weights",
            ));
        }
        self.broadcast_weights(model)?;
        let overlap = self.overlap && self.comm.concurrent();
        // The exchange thread's communicator, split off while every rank is here.
        let split = overlap.then(|| self.comm.split());
        let comm = Arc::new(self.comm);
        let (rank, size) = (comm.rank(), comm.size());
        // Weights keep their shapes (and their order); their trainable flags are read each step
        // (a callback may unfreeze a layer), and their ids with them.
        let shapes: Vec<Shape> = model.get_weights().iter().map(|w| w.shape().clone()).collect();
        std::thread::scope(|scope| {
            let exchange = match split {
                Some(c) => Exchange::spawn(scope, c),
                None => Exchange::Inline(comm.clone()),
            };
            let mut layout: Option<Layout> = None;
            let mut spare: Vec<Vec<f32>> = Vec::new();
            let step = move |m: &mut Model, xb: &Tensor, yb: &Tensor| -> Result<f64> {
                let n = xb.dims()[0];
                let (start, len) = shard(n, rank, size);
                let share = len as f64 / n as f64;
                let (ids, trainable) = (m.weight_ids(), m.trainable_mask());
                if layout.as_ref().map_or(true, |l| l.trainable != trainable) {
                    layout = Some(Layout::new(&shapes, &trainable, BUCKET_FLOATS));
                }
                let layout = layout.as_ref().expect("made above");
                let mut fill = Fill::new(layout, &mut spare);
                let mut loss_sum = [0.0f64];
                // The global batch's predictions, each rank filling its rows: summed, every rank
                // holds them all and updates the training metrics as one process would.
                let out: Vec<usize> = m.output_shape().map(<[usize]>::to_vec).unwrap_or_default();
                let row: usize = out.iter().product();
                let mut preds = vec![0.0f64; n * row];
                if len > 0 {
                    // Every rank has rows (or rank 0 has them all): the engine may sum over ranks.
                    let reps: Option<Arc<dyn Replicas>> =
                        (len < n).then(|| Arc::new(StepReplicas { comm: comm.clone(), share }) as Arc<dyn Replicas>);
                    let index: HashMap<TensorId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
                    let send = exchange.sender();
                    let mut on_final = |id: TensorId, g: &Tensor| {
                        if let Some(&i) = index.get(&id) {
                            fill.add(i, g, share, send);
                        }
                    };
                    let (xs, ys) = (xb.narrow(0, start, len), yb.narrow(0, start, len));
                    let (loss, _, pred) = with_replicas(reps, || m.loss_and_gradients_streamed(xs, ys, &mut on_final))?;
                    for (slot, v) in preds[start * row..(start + len) * row].iter_mut().zip(pred[0].to_vec_f32()) {
                        *slot = f64::from(v);
                    }
                    loss_sum[0] = loss * share;
                }
                // While the exchange thread sums the gradients, the loss and predictions here.
                comm.all_reduce_sum(&mut loss_sum);
                comm.all_reduce_sum(&mut preds);
                let summed = fill.finish(&exchange);
                let shape: Vec<usize> = std::iter::once(n).chain(out.iter().copied()).collect();
                let pred = Tensor::from_vec(preds.iter().map(|&v| v as f32).collect(), shape);
                m.compute_metrics(yb, &[pred])?;
                m.apply_gradients(&Fill::gradients(layout, &summed, &ids, &shapes))?;
                spare = summed;
                average_frozen(&*comm, m, &trainable, share)?;
                Ok(loss_sum[0])
            };
            model.fit(x, y, opts.train_step(step))
        })
    }
}

/// The non-trainable weights averaged over the ranks, each rank weighted by `share`: read and
/// written in place, the trainable ones left untouched.
fn average_frozen<C: Communicator>(comm: &C, m: &mut Model, trainable: &[bool], share: f64) -> Result<()> {
    if trainable.iter().all(|&t| t) {
        return Ok(());
    }
    let mut frozen: Vec<&mut Tensor> = m
        .layers_mut()
        .iter_mut()
        .flat_map(|l| l.params_mut())
        .zip(trainable)
        .filter(|(_, &on)| !on)
        .map(|(p, _)| &mut p.value)
        .collect();
    let mut flat: Vec<f64> = frozen.iter().flat_map(|t| t.to_vec_f32()).map(|v| f64::from(v) * share).collect();
    comm.all_reduce_sum(&mut flat);
    let mut at = 0;
    for t in frozen.iter_mut() {
        let n = t.numel();
        for (dst, v) in t.data_mut_f32().iter_mut().zip(&flat[at..at + n]) {
            *dst = *v as f32;
        }
        at += n;
    }
    Ok(())
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
