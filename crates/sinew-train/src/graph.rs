//! The walk over a model's graph of layer calls, and inference that runs it on several threads
//! at once over copies of the layers.

use crate::data::Tensors;
use crate::model::{Call, Model, PARALLEL_STEP_PARAMS};
use sinew_nn::{Activation, Ctx, Layer};
use sinew_tensor::runtime::{num_threads, serial};
use sinew_tensor::{no_grad, Rng, Tensor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The result of a forward pass at one output: a value, or logits and the activation that
/// would follow them (so a cross-entropy loss can use the logits).
pub(crate) enum Out {
    Value(Tensor),
    Logits(Tensor, Activation),
}

/// A model's graph of calls, apart from the layers it calls, so that copies of the layers
/// ([`Layer::replicate`]) can run it on other threads.
pub(crate) struct Graph<'a> {
    pub(crate) calls: &'a [Call],
    pub(crate) n_in: usize,
    pub(crate) outputs: &'a [usize],
}

impl Graph<'_> {
    /// Runs the graph on `xs`. With `logits`, an output produced by a layer that ends in
    /// softmax/sigmoid and is read by no other call comes back as logits.
    pub(crate) fn run(
        &self,
        layers: &mut [Box<dyn Layer>],
        rng: &mut Rng,
        xs: &[Tensor],
        training: bool,
        logits: bool,
    ) -> Vec<Out> {
        let n_in = self.n_in;
        let total = n_in + self.calls.len();
        // Remaining reads of each node, so intermediate values are freed as soon as possible.
        let mut reads = vec![0usize; total];
        for c in self.calls {
            c.inputs.iter().for_each(|&i| reads[i] += 1);
        }
        let consumed: Vec<bool> = reads.iter().map(|&r| r > 0).collect();
        for &o in self.outputs {
            reads[o] += 1;
        }
        let mut values: Vec<Option<Tensor>> = xs.iter().cloned().map(Some).chain((n_in..total).map(|_| None)).collect();
        let mut out_logits: HashMap<usize, (Tensor, Activation)> = HashMap::new();
        let mut ctx = Ctx { training, rng };
        let mut absorbed = None;
        for (ci, call) in self.calls.iter().enumerate() {
            let node = n_in + ci;
            if absorbed == Some(ci) {
                continue;
            }
            let args: Vec<Tensor> =
                call.inputs.iter().map(|&i| values[i].clone().expect("graph order: inputs computed first")).collect();
            for &i in &call.inputs {
                reads[i] -= 1;
                if reads[i] == 0 {
                    values[i] = None;
                }
            }
            let layer = &mut layers[call.layer];
            if logits && !consumed[node] && args.len() == 1 {
                if let Some((z, act)) = layer.forward_logits(&args[0], &mut ctx) {
                    out_logits.insert(node, (z, act));
                    continue;
                }
            }
            // A max pooling layer that alone reads this output is fused into it.
            let next = self.calls.get(ci + 1).filter(|c| args.len() == 1 && reads[node] == 1 && c.inputs == [node]);
            if let Some(pool) = next.and_then(|c| layers[c.layer].max_pool2d_opts()) {
                if let Some(y) = layers[call.layer].forward_max_pooled(&args[0], pool, &mut ctx) {
                    values[node + 1] = Some(y);
                    absorbed = Some(ci + 1);
                    continue;
                }
            }
            let layer = &mut layers[call.layer];
            values[node] = Some(layer.forward_many(&args, &mut ctx));
        }
        self.outputs
            .iter()
            .map(|o| match out_logits.get(o) {
                Some((z, a)) => Out::Logits(z.clone(), *a),
                None => Out::Value(values[*o].clone().expect("outputs are computed")),
            })
            .collect()
    }
}

/// The values of a run's outputs, applying the activation of those that came back as logits.
pub(crate) fn values(outs: Vec<Out>) -> Vec<Tensor> {
    outs.into_iter()
        .map(|o| match o {
            Out::Value(v) => v,
            Out::Logits(z, a) => a.apply(&z),
        })
        .collect()
}

impl Model {
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
                    let out = values(graph.run(layers, &mut rng, &x.rows(s, bs.min(n - s)).0, false, false));
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
