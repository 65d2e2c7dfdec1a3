//! Inference on top of the model: `call` (recorded, for custom training steps), `predict` in
//! cache-sized sub-batches, and data-parallel `predict` over copies of the layers.

use crate::data::Tensors;
use crate::error::{Error, Result};
use crate::graph::{values, Graph, Out, PARALLEL_STEP_PARAMS};
use crate::model::Model;
use sinew_nn::Layer;
use sinew_tensor::runtime::{num_threads, serial};
use sinew_tensor::{no_grad, Rng, Tensor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The largest sub-batch inference runs at once (see `Model::predict_outputs`).
const INFERENCE_CHUNK: usize = 64;

impl Model {
    /// Keras `model(x, training=...)` for a one-input, one-output model: the forward pass,
    /// recorded for autograd, so custom training steps (GANs, VAEs) can build their own losses.
    pub fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        Ok(self.call_many(x, training)?.remove(0))
    }

    /// Keras `model([x1, x2], training=...)`: the forward pass to every output, recorded.
    pub fn call_many(&mut self, x: impl Into<Tensors>, training: bool) -> Result<Vec<Tensor>> {
        let x = x.into();
        self.build_for(&x)?;
        self.check_data("call", &x, None)?;
        Ok(self.forward(&x.0, training))
    }

    /// Keras `predict` for a one-output model: outputs for `x`, in batches, in inference mode.
    pub fn predict(&mut self, x: impl Into<Tensors>, batch_size: usize) -> Result<Tensor> {
        let x = x.into();
        self.build_for(&x)?;
        if self.outputs.len() != 1 {
            return Err(Error::state(format!(
                "predict: the model has {} outputs {:?}; use predict_outputs",
                self.outputs.len(),
                self.output_names()
            )));
        }
        Ok(self.predict_outputs(x, batch_size)?.remove(0))
    }

    /// Keras `predict` for any model: one tensor per output, in batches, in inference mode.
    pub fn predict_outputs(&mut self, x: impl Into<Tensors>, batch_size: usize) -> Result<Vec<Tensor>> {
        let x = x.into();
        self.build_for(&x)?;
        self.check_data("predict", &x, None)?;
        let n = x.samples();
        // Inference is per sample, so a large batch runs in sub-batches whose activations stay
        // in cache: on the MNIST CNN at batch 1024 the conv output alone is 82 MB, and bias, relu
        // and pooling each streamed it from memory again.
        let bs = batch_size.clamp(1, INFERENCE_CHUNK);
        // Copies of the layers only when there is more than one sub-batch to share out.
        let replicas = if n > bs { self.replicas() } else { None };
        let batches = match replicas {
            Some(replicas) => self.predict_parallel(&x, bs, replicas),
            None => self.run_sized(|m| {
                no_grad(|| (0..n).step_by(bs).map(|s| m.forward(&x.rows(s, bs.min(n - s)).0, false)).collect())
            }),
        };
        Ok((0..self.outputs.len())
            .map(|o| {
                let refs: Vec<&Tensor> = batches.iter().map(|b| &b[o]).collect();
                Tensor::concat(&refs, 0)
            })
            .collect())
    }

    /// Keras `predict_on_batch`.
    pub fn predict_on_batch(&mut self, x: impl Into<Tensors>) -> Result<Tensor> {
        let x = x.into();
        let n = x.samples().max(1);
        self.predict(x, n)
    }

    /// The notes' recursive forecast for a model that maps a window of `window` steps
    /// (`[window, features]`, or `[window]` for one feature) to the next step (`[features]`):
    /// predict from the last window of `history`, append the prediction, slide the window by one,
    /// `horizon` times. Returns `[horizon, features]` (`[horizon]` for one feature), in the scale
    /// the model was trained in (invert a scaler afterwards).
    pub fn forecast(&mut self, history: &Tensor, horizon: usize) -> Result<Tensor> {
        let Some(shape) = self.input_shape().map(<[usize]>::to_vec) else {
            return Err(Error::state("forecast: the model has no input shape yet; build or fit it first"));
        };
        let (window, features) = match shape[..] {
            [w] => (w, 1),
            [w, f] => (w, f),
            _ => {
                return Err(Error::new(format!(
                    "forecast: the model's input must be [window] or [window, features], got {shape:?}"
                )))
            }
        };
        let given = history.numel() / features.max(1);
        if history.numel() % features.max(1) != 0 || given < window {
            return Err(Error::new(format!(
                "forecast: history of shape {:?} holds fewer than the {window} steps of {features} feature(s) the model reads",
                history.dims()
            )));
        }
        let mut last: Vec<f32> = history.to_vec_f32()[(given - window) * features..].to_vec();
        let mut out = Vec::with_capacity(horizon * features);
        let mut batch = vec![1];
        batch.extend(&shape);
        for _ in 0..horizon {
            let y = self.predict_on_batch(Tensor::from_vec(last.clone(), batch.clone()))?;
            if y.numel() != features {
                return Err(Error::new(format!(
                    "forecast: the model predicts {:?} per window; a recursive forecast needs the next step's {features} value(s)",
                    &y.dims()[1..]
                )));
            }
            let next = y.to_vec_f32();
            out.extend_from_slice(&next);
            last.drain(..features);
            last.extend_from_slice(&next);
        }
        Ok(if shape.len() == 1 { Tensor::from_vec(out, [horizon]) } else { Tensor::from_vec(out, [horizon, features]) })
    }

    /// Char-level generation, the notes' way, on a model that reads one step at a time (a
    /// [`Model::stepper`] copy): forgets its states, feeds the ids of `seed` one at a time, then
    /// samples `length` ids, each fed back, from the output divided by `temperature`. The
    /// output is read as logits (a final softmax is left out, so its logits are used).
    pub fn generate(&mut self, seed: &[usize], length: usize, temperature: f64, rng: &mut Rng) -> Result<Vec<usize>> {
        if self.input_shape() != Some(&[1][..]) {
            return Err(Error::state(format!(
                "generate: the model must read one id at a time (input [1]), got {:?}; use Model::stepper",
                self.input_shape()
            )));
        }
        if seed.is_empty() {
            return Err(Error::new("generate: the seed is empty; give at least one id"));
        }
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(Error::new(format!("generate: temperature must be positive, got {temperature}")));
        }
        self.reset_states();
        // A softmax the graph could not leave out (a `Softmax` or `Activation("softmax")` layer)
        // hands back probabilities: their logarithms are the logits up to a constant.
        let last = self.outputs[0].checked_sub(self.inputs.len()).map(|c| self.layers[self.calls[c].layer].config());
        let probabilities = last.is_some_and(|c| c["class_name"] == "Softmax" || c["activation"] == "softmax");
        let step = |m: &mut Model, id: usize| -> Result<Vec<f32>> {
            let x = Tensors::from(Tensor::from_vec(vec![id as f32], [1, 1]));
            m.check_data("generate", &x, None)?;
            Ok(match no_grad(|| m.run_logits(&x.0)).remove(0) {
                Out::Value(p) if probabilities => p.to_vec_f32().iter().map(|&q| q.max(1e-12).ln()).collect(),
                out => out.tensor().to_vec_f32(),
            })
        };
        let mut logits = vec![];
        for &id in seed {
            logits = step(self, id)?;
        }
        let mut out = Vec::with_capacity(length);
        for _ in 0..length {
            let id = sample_with_temperature(&logits, temperature, rng);
            out.push(id);
            logits = step(self, id)?;
        }
        Ok(out)
    }

    /// One copy of the layers per GEMM thread beyond the first, when there are several threads
    /// and every layer can be copied ([`Layer::replicate`]).
    pub(crate) fn replicas(&self) -> Option<Vec<Vec<Box<dyn Layer>>>> {
        let threads = num_threads();
        if threads < 2 || self.count_params() < PARALLEL_STEP_PARAMS {
            return None;
        }
        (1..threads).map(|_| self.layers.iter().map(|l| l.replicate()).collect()).collect()
    }

    /// Inference with one sub-batch per thread at a time: each thread runs whole sub-batches
    /// through its own copy of the layers (the weights are shared), taking the next one from a
    /// counter, so the threads meet once at the end instead of at every op of every sub-batch.
    pub(crate) fn predict_parallel(
        &mut self,
        x: &Tensors,
        bs: usize,
        replicas: Vec<Vec<Box<dyn Layer>>>,
    ) -> Vec<Vec<Tensor>> {
        let n = x.samples();
        let chunks = n.div_ceil(bs);
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Vec<Tensor>>> = (0..chunks).map(|_| Mutex::new(vec![])).collect();
        let graph = Graph { calls: &self.calls, n_in: self.inputs.len(), outputs: &self.outputs };
        let work = |layers: &mut [Box<dyn Layer>]| {
            let mut rng = Rng::seed(0); // inference draws nothing; Ctx needs one
            serial(|| {
                no_grad(|| loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        break;
                    }
                    let s = c * bs;
                    let out = values(graph.run(layers, &mut rng, &x.rows(s, bs.min(n - s)).0, false, false).0);
                    *results[c].lock().expect("no panic while holding the lock") = out;
                })
            })
        };
        let own = &mut self.layers;
        rayon::scope(|sc| {
            for mut layers in replicas {
                let work = &work;
                sc.spawn(move |_| work(&mut layers));
            }
            work(own);
        });
        results.into_iter().map(|m| m.into_inner().expect("no panic while holding the lock")).collect()
    }
}

/// Draws an index from `softmax(logits / temperature)` (the Keras text-generation example's
/// `sample`): a low temperature picks the likeliest, a high one flattens the distribution.
pub fn sample_with_temperature(logits: &[f32], temperature: f64, rng: &mut Rng) -> usize {
    let max = logits.iter().copied().fold(f32::MIN, f32::max) as f64;
    let w: Vec<f64> = logits.iter().map(|&z| ((z as f64 - max) / temperature).exp()).collect();
    let mut u = rng.next_f64() * w.iter().sum::<f64>();
    for (i, wi) in w.iter().enumerate() {
        if u < *wi {
            return i;
        }
        u -= wi;
    }
    logits.len().saturating_sub(1)
}
