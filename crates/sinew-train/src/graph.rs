//! The walk over a model's graph of layer calls. It takes the layers it runs as an argument, so
//! copies of them can run it on other threads (data-parallel `predict`, in `predict.rs`).

use sinew_nn::{Activation, Ctx, Layer};
use sinew_tensor::{Rng, Tensor};
use std::collections::HashMap;

/// One layer call in the graph: which layer, reading which nodes. Nodes `0..inputs` are the model
/// inputs; node `inputs + i` is the output of call `i`. Calls are in topological order.
///
/// A layer with several outputs ([`Layer::output_shapes`]) is one call for its first output and
/// one call per other output it hands on: `output: k` reads output `k` of the call whose node
/// is its only input, without running the layer again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) layer: usize,
    pub(crate) inputs: Vec<usize>,
    pub(crate) output: usize,
}

impl Call {
    /// A call of `layer` on `inputs`, its first output.
    pub(crate) fn new(layer: usize, inputs: Vec<usize>) -> Call {
        Call { layer, inputs, output: 0 }
    }
}

/// Models with at least this many weights train and predict on a rayon pool thread (see
/// `Model::run_sized`).
pub(crate) const PARALLEL_STEP_PARAMS: usize = 1 << 16;

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
    /// Runs the graph on `xs`: every output, and its Keras mask (`(batch, timesteps)`, which
    /// the loss reads to leave masked steps out). With `logits`, an output produced by a layer
    /// that ends in softmax/sigmoid and is read by no other call comes back as logits.
    pub(crate) fn run(
        &self,
        layers: &mut [Box<dyn Layer>],
        rng: &mut Rng,
        xs: &[Tensor],
        training: bool,
        logits: bool,
    ) -> (Vec<Out>, Vec<Option<Tensor>>) {
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
        // Keras masks: `(batch, timesteps)`, made by `Embedding(mask_zero)` or `Masking`, passed on
        // by the layers that keep the timestep axis, skipped by recurrent layers.
        let mut masks: Vec<Option<Tensor>> = vec![None; total];
        // The other outputs of a multi-output call, until the calls that hand them on run.
        let mut others: HashMap<usize, Vec<Tensor>> = HashMap::new();
        let mut out_logits: HashMap<usize, (Tensor, Activation)> = HashMap::new();
        let mut ctx = Ctx { training, rng };
        let mut absorbed = None;
        for (ci, call) in self.calls.iter().enumerate() {
            let node = n_in + ci;
            if absorbed == Some(ci) {
                continue;
            }
            if call.output > 0 {
                let src = call.inputs[0];
                let outs = others.get(&src).expect("graph order: a layer runs before its outputs are read");
                values[node] = Some(outs[call.output - 1].clone());
                // Another output shaped like the first (the other direction of a Bidirectional
                // layer's sequences) carries its mask; a final state does not.
                let shapes = layers[call.layer].output_shapes();
                if shapes[call.output] == shapes[0] {
                    masks[node] = masks[src].clone();
                }
                reads[src] -= 1;
                if reads[src] == 0 {
                    values[src] = None;
                    others.remove(&src);
                }
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
                    masks[node] = layer.compute_mask(&args[0], masks[call.inputs[0]].as_ref());
                    out_logits.insert(node, (z, act));
                    continue;
                }
            }
            // A max pooling layer that alone reads this output is fused into it.
            let next = self
                .calls
                .get(ci + 1)
                .filter(|c| args.len() == 1 && reads[node] == 1 && c.inputs == [node] && c.output == 0);
            if let Some(pool) = next.and_then(|c| layers[c.layer].max_pool2d_opts()) {
                if let Some(y) = layers[call.layer].forward_max_pooled(&args[0], pool, &mut ctx) {
                    values[node + 1] = Some(y);
                    absorbed = Some(ci + 1);
                    continue;
                }
            }
            // So is a recurrent layer that alone reads an Embedding's output: it projects the
            // table once and gathers by id instead of reading the embedded sequence.
            if let (Some(c), Some(table)) = (next, layers[call.layer].embedding_table().cloned()) {
                let mask = layers[call.layer].compute_mask(&args[0], None);
                if let Some(y) = layers[c.layer].forward_embedded(&args[0], &table, mask.as_ref(), &mut ctx) {
                    masks[node + 1] = layers[c.layer].compute_mask(&y, mask.as_ref());
                    values[node + 1] = Some(y);
                    absorbed = Some(ci + 1);
                    continue;
                }
            }
            let layer = &mut layers[call.layer];
            let mask_in = masks[call.inputs[0]].clone();
            let mut ys = layer.forward_outputs(&args, mask_in.as_ref(), &mut ctx);
            masks[node] = layer.compute_mask(&args[0], mask_in.as_ref());
            values[node] = Some(ys.remove(0));
            if !ys.is_empty() {
                others.insert(node, ys);
            }
        }
        let outs = self
            .outputs
            .iter()
            .map(|o| match out_logits.get(o) {
                Some((z, a)) => Out::Logits(z.clone(), *a),
                None => Out::Value(values[*o].clone().expect("outputs are computed")),
            })
            .collect();
        (outs, self.outputs.iter().map(|&o| masks[o].clone()).collect())
    }
}

impl Out {
    /// The tensor the output holds: its value, or its logits.
    pub(crate) fn tensor(&self) -> &Tensor {
        match self {
            Out::Value(t) | Out::Logits(t, _) => t,
        }
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
