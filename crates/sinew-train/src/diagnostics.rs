//! Training diagnostics (issue 20): an opt-in callback that records, at the end of every epoch,
//! each layer's gradient norm on a fixed probe batch, its weight norm and how far the epoch moved
//! its weights; and the findings a reader of those curves would draw (vanishing or exploding
//! gradients, over- or underfitting), each with the notes' remedy.

use crate::callbacks::{Callback, Control};
use crate::data::Tensors;
use crate::history::History;
use crate::logs::Logs;
use sinew_tensor::{no_grad, Tensor};

/// One layer's figures at the end of each epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerTrace {
    pub name: String,
    /// The L2 norm of the loss's gradient with respect to the layer's trainable weights, on the
    /// probe batch.
    pub grad_norm: Vec<f64>,
    /// The L2 norm of those weights.
    pub weight_norm: Vec<f64>,
    /// `‖w_end − w_start‖ / ‖w_start‖` over the epoch.
    pub update_ratio: Vec<f64>,
}

/// A problem the traces show, and the notes' one-line remedy.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// `vanishing gradients`, `exploding gradients`, `overfitting` or `underfitting`.
    pub kind: &'static str,
    pub evidence: String,
    pub remedy: &'static str,
}

/// The callback: `GradientDiagnostics::new(x, y)` with a probe batch from the training data.
/// The probe runs in inference mode (dropout off, `BatchNormalization` on its moving
/// statistics), so it changes nothing in the model. Layers without trainable weights are left
/// out.
pub struct GradientDiagnostics {
    x: Tensors,
    y: Tensors,
    /// Each layer's weights at the start of the epoch.
    start: Vec<Vec<Tensor>>,
    pub layers: Vec<LayerTrace>,
}

/// The layer below which gradients count as vanishing: this many times smaller than the last
/// layer's (three orders of magnitude).
pub const VANISHING_RATIO: f64 = 1e-3;
/// A layer's gradient this many times the last layer's counts as exploding.
pub const EXPLODING_RATIO: f64 = 1e3;

fn norm(ts: &[&Tensor]) -> f64 {
    ts.iter().map(|t| t.to_vec_f64().iter().map(|v| v * v).sum::<f64>()).sum::<f64>().sqrt()
}

impl GradientDiagnostics {
    pub fn new(x: impl Into<Tensors>, y: impl Into<Tensors>) -> Self {
        GradientDiagnostics { x: x.into(), y: y.into(), start: vec![], layers: vec![] }
    }

    /// The findings after training with this callback, from its traces and `history` (the
    /// over- and underfitting checks need `loss` and `val_loss`).
    pub fn findings(&self, history: &History) -> Vec<Finding> {
        let mut out = vec![];
        let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
        if let Some(top) = self.layers.last() {
            let reference = last(&top.grad_norm);
            let vanishing: Vec<String> = self.layers[..self.layers.len() - 1]
                .iter()
                .filter(|l| last(&l.grad_norm) < VANISHING_RATIO * reference)
                .map(|l| format!("{} ({:.1e})", l.name, last(&l.grad_norm)))
                .collect();
            if !vanishing.is_empty() {
                out.push(Finding {
                    kind: "vanishing gradients",
                    evidence: format!(
                        "gradient norm below {VANISHING_RATIO:e} times the last layer's ({reference:.1e}) in {}",
                        vanishing.join(", ")
                    ),
                    remedy: "use ReLU-family activations with He initialisation, BatchNormalization or residual connections",
                });
            }
            let exploding: Vec<String> = self
                .layers
                .iter()
                .filter(|l| {
                    !last(&l.grad_norm).is_finite() || last(&l.grad_norm) > EXPLODING_RATIO * reference.max(1e-12)
                })
                .map(|l| format!("{} ({:.1e})", l.name, last(&l.grad_norm)))
                .collect();
            if !exploding.is_empty() {
                out.push(Finding {
                    kind: "exploding gradients",
                    evidence: format!(
                        "gradient norm not finite or above {EXPLODING_RATIO:e} times the last layer's in {}",
                        exploding.join(", ")
                    ),
                    remedy: "clip the gradients (clipnorm), lower the learning rate or normalise the inputs",
                });
            }
        }
        if let (Some(loss), Some(val)) = (history.get("loss"), history.get("val_loss")) {
            let (first, l, v) = (loss[0], last(loss), last(val));
            let best_val = val.iter().cloned().fold(f64::INFINITY, f64::min);
            if val.len() >= 3 && v > 1.1 * best_val && l < loss[loss.len().saturating_sub(3)] && v > 1.2 * l {
                out.push(Finding {
                    kind: "overfitting",
                    evidence: format!(
                        "the validation loss rose to {v:.4} from its best {best_val:.4} while the training loss fell to {l:.4}"
                    ),
                    remedy: "regularise (dropout, L2), get more data, or stop early (EarlyStopping)",
                });
            } else if l > 0.7 * first && (v - l).abs() <= 0.1 * l {
                out.push(Finding {
                    kind: "underfitting",
                    evidence: format!("the training loss only fell from {first:.4} to {l:.4}, and the validation loss ({v:.4}) is as high"),
                    remedy: "use a bigger model, train longer, or raise the learning rate",
                });
            }
        }
        out
    }
}

impl Callback for GradientDiagnostics {
    fn on_epoch_begin(&mut self, _epoch: usize, c: &mut Control) {
        self.start = c
            .model
            .layers
            .iter()
            .map(|l| l.params().iter().filter(|p| p.trainable).map(|p| p.value.clone()).collect())
            .collect();
    }

    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, c: &mut Control) {
        let m = &mut *c.model;
        let (loss, _, _) = m.loss_and_pred(&self.x, &self.y, None, false);
        let grads = loss.backward();
        let mut row = 0;
        for (i, layer) in m.layers.iter().enumerate() {
            let params: Vec<&Tensor> = layer.params().into_iter().filter(|p| p.trainable).map(|p| &p.value).collect();
            if params.is_empty() {
                continue;
            }
            let g: Vec<&Tensor> = params.iter().filter_map(|p| grads.get(p)).collect();
            let (gn, wn) = no_grad(|| (norm(&g), norm(&params)));
            let moved = match self.start.get(i) {
                Some(before) if before.len() == params.len() => no_grad(|| {
                    let d: Vec<Tensor> = params.iter().zip(before).map(|(p, b)| p.sub(b)).collect();
                    norm(&d.iter().collect::<Vec<_>>()) / norm(&before.iter().collect::<Vec<_>>()).max(1e-30)
                }),
                _ => f64::NAN,
            };
            if self.layers.len() <= row {
                self.layers.push(LayerTrace { name: layer.name().to_string(), ..Default::default() });
            }
            let t = &mut self.layers[row];
            t.grad_norm.push(gn);
            t.weight_norm.push(wn);
            t.update_ratio.push(moved);
            row += 1;
        }
    }
}
