//! The pieces of a training step, for steps written by hand (Keras' custom `train_step`, a
//! GAN's two phases, data-parallel training): the loss and gradients of a batch, the
//! optimizer step from given gradients, the metrics from given predictions, and the compiled
//! loss alone.

use crate::data::Tensors;
use crate::error::{Error, Result};
use crate::model::Model;
use sinew_nn::{reduce, Reduction};
use sinew_tensor::Tensor;

/// What [`Model::loss_and_gradients_streamed`] hands each finished weight gradient to.
type OnFinal<'f> = dyn FnMut(sinew_tensor::TensorId, &Tensor) + Send + 'f;

impl Model {
    /// Keras `optimizer.apply_gradients(zip(grads, model.trainable_weights))`: one optimizer step
    /// on this model's trainable weights from `grads` (weights absent from `grads` are left
    /// alone), then the weight constraints. Needs `compile` for the optimizer.
    pub fn apply_gradients(&mut self, grads: &sinew_tensor::Gradients) -> Result<()> {
        self.compiled("apply_gradients")?;
        let flags = self.trainable_flags();
        self.apply(grads, 1.0, true, &flags);
        Ok(())
    }

    /// The loss of a batch and the gradients of the weights it trains, computed as a training
    /// step of `fit` computes them (training mode, every output's loss and weight, the
    /// regularisation penalties), without the optimizer step: what a data-parallel step sums
    /// across ranks before [`Model::apply_gradients`].
    /// Also returns each output's predictions (detached), for [`Model::compute_metrics`].
    pub fn loss_and_gradients(
        &mut self,
        x: impl Into<Tensors>,
        y: impl Into<Tensors>,
    ) -> Result<(f64, sinew_tensor::Gradients, Vec<Tensor>)> {
        self.loss_and_grads(x.into(), y.into(), None)
    }

    /// [`Model::loss_and_gradients`], handing each weight's gradient to `on_final` as soon as
    /// the backward pass has finished it, last layers first ([`Tensor::backward_streamed`]): a
    /// data-parallel step sums the first ones over the ranks while the rest are computed.
    pub fn loss_and_gradients_streamed(
        &mut self,
        x: impl Into<Tensors>,
        y: impl Into<Tensors>,
        on_final: &mut OnFinal,
    ) -> Result<(f64, sinew_tensor::Gradients, Vec<Tensor>)> {
        self.loss_and_grads(x.into(), y.into(), Some(on_final))
    }

    fn loss_and_grads(
        &mut self,
        x: Tensors,
        y: Tensors,
        on_final: Option<&mut OnFinal>,
    ) -> Result<(f64, sinew_tensor::Gradients, Vec<Tensor>)> {
        self.build_for(&x)?;
        self.compiled("loss_and_gradients")?;
        self.check_data("loss_and_gradients", &x, Some(&y))?;
        Ok(self.run_sized(|m| {
            let (loss, _, pred) = m.loss_and_pred(&x, &y, None, true);
            let grads = match on_final {
                Some(f) => loss.backward_streamed(f),
                None => loss.backward(),
            };
            (loss.item(), grads, pred)
        }))
    }

    /// Keras `compute_metrics` in a custom training step: updates the compiled training
    /// metrics with a batch's targets and predictions (one per output), so `fit`'s logs and
    /// `History` report them as for its own steps.
    pub fn compute_metrics(&mut self, y: impl Into<Tensors>, y_pred: &[Tensor]) -> Result<()> {
        let y = y.into();
        let c = self.compiled("compute_metrics")?;
        if y.len() != c.losses.len() || y_pred.len() != c.losses.len() {
            return Err(Error::new(format!(
                "compute_metrics: {} targets and {} predictions for {} outputs",
                y.len(),
                y_pred.len(),
                c.losses.len()
            )));
        }
        crate::metrics::update_outputs(&mut c.metrics, &y, y_pred);
        Ok(())
    }

    /// The compiled loss of the first output applied to targets and predictions, reduced to a
    /// scalar (Keras `compute_loss`), for custom training steps.
    pub fn compute_loss(&mut self, y: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let c = self.compiled("compute_loss")?;
        Ok(reduce(&c.losses[0].per_sample(y, y_pred), None, Reduction::SumOverBatchSize))
    }
}
