//! Keras `Model`: a graph of layer calls with `compile`, `fit`, `evaluate` and `predict`.
//! `Sequential` is the same type built as a chain with `add`; [`crate::Functional`] builds any
//! directed acyclic graph (several inputs and outputs, shared layers, skip connections).

use crate::compile::Compiled;
use crate::data::Tensors;
use crate::error::{Error, Result};
use crate::graph::{values, Call, Graph, Out, PARALLEL_STEP_PARAMS};
use sinew_nn::{reduce, snake_case, Layer, LayerConfig, Loss, Reduction};
use sinew_tensor::{no_grad, Rng, Tensor};
use std::collections::HashMap;

/// A Keras `Sequential` model: a [`Model`] built as a chain with `input` and `add`.
pub type Sequential = Model;

/// A model input: its name and per-sample shape.
#[derive(Clone, Debug)]
pub(crate) struct InputSpec {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sequential,
    Functional,
}

/// A Keras model: layers, the graph of their calls, and the compiled training state.
pub struct Model {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) inputs: Vec<InputSpec>,
    pending: Vec<Box<dyn LayerConfig>>,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    pub(crate) calls: Vec<Call>,
    pub(crate) outputs: Vec<usize>,
    pub(crate) compiled: Option<Compiled>,
    pub(crate) rng: Rng,
    counters: HashMap<String, usize>,
    /// A fitted preprocessing recipe saved with the model (see [`Model::set_preprocessing`]).
    pub(crate) preprocessing: Option<serde_json::Value>,
    /// The number of weights, counted once per change of the layers (every training step asks).
    param_count: Option<usize>,
    /// Keras `model.trainable` (see [`Model::set_trainable`]).
    trainable: bool,
    /// Whether `set_name` gave the model its name (a model used as a layer keeps it).
    named: bool,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    /// An empty `Sequential` model (Keras `keras.Sequential()`).
    pub fn new() -> Self {
        Model {
            name: "sequential".into(),
            kind: Kind::Sequential,
            inputs: vec![],
            pending: vec![],
            layers: vec![],
            calls: vec![],
            outputs: vec![],
            compiled: None,
            rng: Rng::seed(0),
            counters: HashMap::new(),
            preprocessing: None,
            param_count: None,
            trainable: true,
            named: false,
        }
    }

    /// A functional model from an already wired graph (what [`crate::Functional::model`] makes).
    pub(crate) fn from_graph(
        inputs: Vec<InputSpec>,
        layers: Vec<Box<dyn Layer>>,
        calls: Vec<Call>,
        outputs: Vec<usize>,
        rng: Rng,
    ) -> Model {
        Model {
            name: "functional".into(),
            kind: Kind::Functional,
            inputs,
            pending: vec![],
            layers,
            calls,
            outputs,
            compiled: None,
            rng,
            counters: HashMap::new(),
            preprocessing: None,
            param_count: None,
            trainable: true,
            named: false,
        }
    }

    /// Seeds weight initialisation, dropout and shuffling (Keras `set_random_seed`).
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.rng = Rng::seed(seed);
        self
    }
    /// The model name shown by `summary` (`sequential` or `functional` by default).
    pub fn set_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = name.into();
        self.named = true;
        self
    }
    /// The model name (`sequential`, `functional`, or the one given to [`Model::set_name`]).
    pub fn name(&self) -> &str {
        &self.name
    }
    pub(crate) fn has_custom_name(&self) -> bool {
        self.named
    }
    /// Whether the model was built with [`crate::Functional`] rather than as a chain.
    pub fn is_functional(&self) -> bool {
        self.kind == Kind::Functional
    }

    /// Keras `model.trainable = ...`: freezes or unfreezes every layer, and the layers of the
    /// models it holds. As in Keras 3 (on TensorFlow), a model reads the flags at its first
    /// training step after `compile` and trains those weights until it is compiled again: a
    /// GAN that sets `discriminator.trainable` before each `train_on_batch`, as the notes do,
    /// trains the discriminator alone and then the generator alone. A frozen
    /// `BatchNormalization` runs in inference mode (its flag is read at each call).
    pub fn set_trainable(&mut self, trainable: bool) -> &mut Self {
        self.trainable = trainable;
        for l in &mut self.layers {
            l.set_trainable(trainable);
        }
        self
    }
    /// Keras `model.trainable`.
    pub fn trainable(&self) -> bool {
        self.trainable
    }

    /// The same graph over other layers (copies of these, from [`Layer::replicate`]).
    pub(crate) fn with_layers(&self, layers: Vec<Box<dyn Layer>>) -> Model {
        let (inputs, calls, outputs) = (self.inputs.clone(), self.calls.clone(), self.outputs.clone());
        let mut m = Model::from_graph(inputs, layers, calls, outputs, Rng::seed(0));
        m.name = self.name.clone();
        m.kind = self.kind;
        m.named = self.named;
        m.trainable = self.trainable;
        m
    }
    /// The per-sample input shape of a Sequential model (Keras `keras.Input(shape=...)` first).
    pub fn input(&mut self, shape: &[usize]) -> &mut Self {
        self.inputs = vec![InputSpec { name: "input_layer".into(), shape: shape.to_vec() }];
        self
    }
    /// Appends a layer to a Sequential model (Keras `model.add`). Building happens at `build`,
    /// `compile` or `summary`; on a functional model, `build` reports the misuse.
    pub fn add(&mut self, layer: impl LayerConfig + 'static) -> &mut Self {
        self.pending.push(Box::new(layer));
        self
    }
    /// [`Model::add`] for a layer configuration built at run time (`sinew_nn::layer_from_args`).
    pub fn add_boxed(&mut self, layer: Box<dyn LayerConfig>) -> &mut Self {
        self.pending.push(layer);
        self
    }
    /// The per-sample shape of the first input, if set.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.inputs.first().map(|i| i.shape.as_slice())
    }
    /// The per-sample shape of every input.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs.iter().map(|i| i.shape.clone()).collect()
    }
    /// A Sequential model with no input shape and no layers yet.
    pub(crate) fn is_empty_chain(&self) -> bool {
        self.kind == Kind::Sequential && self.inputs.is_empty() && self.pending.is_empty() && self.layers.is_empty()
    }
    pub(crate) fn pending_push(&mut self, cfg: Box<dyn LayerConfig>) {
        self.pending.push(cfg);
    }
    /// Removes the last layer of a Sequential model (Keras `model.pop`).
    pub fn pop(&mut self) -> Result<()> {
        if self.kind == Kind::Functional {
            return Err(Error::state("pop: only a Sequential model can pop layers"));
        }
        if self.pending.pop().is_some() {
            return Ok(());
        }
        self.param_count = None;
        if self.layers.pop().is_none() {
            return Err(Error::state("pop: the model has no layers"));
        }
        self.calls.pop();
        self.outputs = if self.calls.is_empty() { vec![] } else { vec![self.inputs.len() + self.calls.len() - 1] };
        Ok(())
    }
    /// Built layers, each once (a shared layer appears once however often it is called).
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        self.param_count = None;
        &mut self.layers
    }
    /// The layer called `name` (Keras `get_layer`).
    pub fn get_layer(&self, name: &str) -> Result<&dyn Layer> {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        self.layers
            .iter()
            .find(|l| l.name() == name)
            .map(|l| l.as_ref())
            .ok_or_else(|| Error::new(format!("get_layer: no layer named {name:?}{}", sinew_nn::suggest(name, &names))))
    }
    pub fn get_layer_mut(&mut self, name: &str) -> Result<&mut Box<dyn Layer>> {
        self.param_count = None;
        let names: Vec<String> = self.layers.iter().map(|l| l.name().to_string()).collect();
        self.layers
            .iter_mut()
            .find(|l| l.name() == name)
            .ok_or_else(|| Error::new(format!("get_layer: no layer named {name:?}; the layers are {names:?}")))
    }

    /// The per-sample shape of node `n`.
    pub(crate) fn node_shape(&self, n: usize) -> &[usize] {
        match n.checked_sub(self.inputs.len()) {
            None => &self.inputs[n].shape,
            Some(c) => self.layers[self.calls[c].layer].output_shapes()[self.calls[c].output],
        }
    }

    /// Builds the pending layers of a Sequential model against the input shape. Shape errors
    /// name the layer and shapes.
    pub fn build(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return if self.layers.is_empty() { Err(Error::state("build: the model has no layers")) } else { Ok(()) };
        }
        if self.kind == Kind::Functional {
            return Err(Error::state("add: layers cannot be added to a functional model; call them with `Functional`"));
        }
        if self.inputs.is_empty() {
            return Err(Error::state(
                "build: the input shape is unknown; call `input(&[...])` (Keras `keras.Input(shape=...)`), or let the first `fit`, `predict` or call build the model from its data",
            ));
        }
        self.param_count = None;
        for cfg in std::mem::take(&mut self.pending) {
            let name = unique_name(&mut self.counters, cfg.as_ref());
            if self.layers.iter().any(|l| l.name() == name) {
                return Err(Error::new(format!("build: layer name {name:?} is used twice; names must be unique")));
            }
            let prev = self.inputs.len() + self.calls.len() - 1;
            let shape = self.node_shape(prev).to_vec();
            let layer = cfg.build(name, &shape, &mut self.rng)?;
            let n = layer.output_shapes().len();
            if n > 1 {
                return Err(Error::new(format!(
                    "build: {} ({}) returns {n} tensors; a Sequential model needs layers with one output (Keras refuses them too); use the functional API",
                    layer.name(),
                    layer.class_name()
                )));
            }
            self.calls.push(Call::new(self.layers.len(), vec![prev]));
            self.layers.push(layer);
            if !self.trainable {
                self.layers.last_mut().expect("just pushed").set_trainable(false);
            }
        }
        self.outputs = vec![self.inputs.len() + self.calls.len() - 1];
        Ok(())
    }

    /// A Sequential model with layers and no input shape yet: Keras builds it on its first
    /// `fit`, `predict` or call, from the data's shape.
    pub(crate) fn deferred(&self) -> bool {
        self.kind == Kind::Sequential && self.inputs.is_empty() && !self.pending.is_empty()
    }

    /// Builds the model, taking a deferred Sequential model's input shape from `x` (its
    /// per-sample shape), as Keras does on the first call.
    pub(crate) fn build_for(&mut self, x: &Tensors) -> Result<()> {
        if self.deferred() {
            if let [x] = x.0.as_slice() {
                if x.rank() >= 1 {
                    let shape = x.dims()[1..].to_vec();
                    self.input(&shape);
                }
            }
        }
        self.build()
    }

    /// Per-sample shape of the first output.
    pub fn output_shape(&self) -> Option<&[usize]> {
        self.outputs.first().map(|&o| self.node_shape(o))
    }
    /// Per-sample shape of every output.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.outputs.iter().map(|&o| self.node_shape(o).to_vec()).collect()
    }
    /// The name of each output: the name of the layer that produces it, with `_output_<k>` for a
    /// layer's other outputs (`lstm`, `lstm_output_1` for an LSTM's output and its `h`), so logs
    /// and callbacks tell them apart.
    pub fn output_names(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|&o| match o.checked_sub(self.inputs.len()) {
                None => self.inputs[o].name.clone(),
                Some(c) => match (self.layers[self.calls[c].layer].name(), self.calls[c].output) {
                    (name, 0) => name.to_string(),
                    (name, k) => format!("{name}_output_{k}"),
                },
            })
            .collect()
    }

    /// Checks `x` against the inputs (count and per-sample shapes), `y` against the outputs
    /// (count, sample count) and that `x` is finite.
    pub(crate) fn check_data(&self, what: &str, x: &Tensors, y: Option<&Tensors>) -> Result<()> {
        if x.len() != self.inputs.len() {
            return Err(Error::data(format!(
                "{what}: the model has {} inputs {:?}, got {} tensors",
                self.inputs.len(),
                self.inputs.iter().map(|i| &i.name).collect::<Vec<_>>(),
                x.len()
            )));
        }
        x.check(what, "x", true)?;
        for (i, (t, spec)) in x.0.iter().zip(&self.inputs).enumerate() {
            if t.dims()[1..] != spec.shape[..] {
                let reader = self
                    .calls
                    .iter()
                    .find(|c| c.inputs.contains(&i))
                    .map(|c| self.layers[c.layer].name().to_string())
                    .unwrap_or_else(|| spec.name.clone());
                return Err(Error::data(format!(
                    "{what}: input {i} of layer {reader} is incompatible: expected per-sample shape {:?}, got {:?} (x has shape {:?})",
                    spec.shape,
                    &t.dims()[1..],
                    t.dims()
                )));
            }
        }
        if let Some(y) = y {
            if y.len() != self.outputs.len() {
                return Err(Error::data(format!(
                    "{what}: the model has {} outputs {:?}, got {} target tensors",
                    self.outputs.len(),
                    self.output_names(),
                    y.len()
                )));
            }
            y.check(what, "y", false)?;
            if y.samples() != x.samples() {
                return Err(Error::data(format!(
                    "{what}: x has {} samples but y has shape {:?}",
                    x.samples(),
                    y.0[0].dims()
                )));
            }
            if let Some(c) = &self.compiled {
                for (o, (loss, shape)) in c.losses.iter().zip(self.output_shapes()).enumerate() {
                    loss.check_target(&y.0[o], &shape).map_err(|m| {
                        let out = if self.outputs.len() > 1 {
                            format!(" (output {})", self.output_names()[o])
                        } else {
                            String::new()
                        };
                        Error::data(format!("{what}{out}: {m}"))
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Runs the graph on `xs`. With `logits`, an output produced by a layer that ends in
    /// softmax/sigmoid and is read by no other call comes back as logits.
    fn run(&mut self, xs: &[Tensor], training: bool, logits: bool) -> Vec<Out> {
        let graph = Graph { calls: &self.calls, n_in: self.inputs.len(), outputs: &self.outputs };
        graph.run(&mut self.layers, &mut self.rng, xs, training, logits).0
    }

    /// Forward pass in inference mode to every output, as logits where a layer ends in softmax
    /// or sigmoid (what sampling reads).
    pub(crate) fn run_logits(&mut self, xs: &[Tensor]) -> Vec<Out> {
        self.run(xs, false, true)
    }

    /// Forward pass to every output.
    pub(crate) fn forward(&mut self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        values(self.run(xs, training, false))
    }

    /// Total loss of one batch (a scalar recorded for backward), each output's loss, and the
    /// predictions for metrics. Where an output's layer ends in softmax/sigmoid and its loss can
    /// use logits, that loss is computed from the logits (stabler and fused), as Keras does on
    /// TensorFlow.
    pub(crate) fn loss_and_pred(
        &mut self,
        x: &Tensors,
        y: &Tensors,
        sw: Option<&Tensor>,
        training: bool,
    ) -> (Tensor, Vec<f64>, Vec<Tensor>) {
        let graph = Graph { calls: &self.calls, n_in: self.inputs.len(), outputs: &self.outputs };
        let (outs, masks) = graph.run(&mut self.layers, &mut self.rng, &x.0, training, true);
        let c = self.compiled.as_ref().expect("compiled");
        let mut total: Option<Tensor> = None;
        let (mut parts, mut preds) = (vec![], vec![]);
        for (o, (out, mask)) in outs.into_iter().zip(masks).enumerate() {
            let (loss_fn, y) = (c.losses[o].as_ref(), &y.0[o]);
            let pred = match &out {
                Out::Logits(z, act) => no_grad(|| act.apply(&z.detach())),
                Out::Value(p) => p.detach(),
            };
            let per_sample = match mask.filter(|m| out.tensor().rank() >= 3 && out.tensor().dims()[..2] == m.dims()[..])
            {
                Some(m) => masked_per_sample(loss_fn, y, &out, &m),
                None => out_per_sample(loss_fn, y, &out),
            };
            let l = reduce(&per_sample, sw, Reduction::SumOverBatchSize);
            parts.push(no_grad(|| l.item()));
            let w = c.loss_weights[o];
            let l = if w == 1.0 { l } else { l.mul_scalar(w) };
            total = Some(match total {
                None => l,
                Some(t) => t.add(&l),
            });
            preds.push(pred);
        }
        let loss = total.expect("a model has at least one output");
        // Weight and activity penalties (Keras `model.losses`) join the loss in training and
        // evaluation alike; they are read after the forward pass that produced the activities.
        let loss = match self.layers.iter_mut().filter_map(|l| l.regularization_loss()).reduce(|a, b| a.add(&b)) {
            Some(r) => loss.add(&r),
            None => loss,
        };
        (loss, parts, preds)
    }

    /// Keras `model.reset_states()`: every stateful recurrent layer forgets the states it
    /// carries from one batch to the next (between independent sequences, or before generating).
    pub fn reset_states(&mut self) {
        for l in &mut self.layers {
            l.reset_states();
        }
    }

    /// Each weight's trainable flag now, in parameter order.
    pub(crate) fn trainable_flags(&self) -> Vec<bool> {
        self.layers.iter().flat_map(|l| l.params()).map(|p| p.trainable).collect()
    }

    /// Keras `count_params`: every weight, trainable or not.
    pub fn count_params(&self) -> usize {
        self.param_count.unwrap_or_else(|| self.walk_params())
    }

    fn walk_params(&self) -> usize {
        self.layers.iter().map(|l| l.params().iter().map(|p| p.value.numel()).sum::<usize>()).sum()
    }

    /// Runs `f` where a model of this size runs fastest. A model this large has products big
    /// enough for the parallel GEMM path: it runs on a pool thread so each split is a cheap
    /// steal rather than a wake-up (dense autoencoder: 0.87 -> 0.75 ms per step). A small one
    /// stays on the caller's core, where its weights and optimizer state sit in L2 (the tabular
    /// MLP lost 40 us per step in the pool).
    pub(crate) fn run_sized<R: Send>(&mut self, f: impl FnOnce(&mut Model) -> R + Send) -> R {
        let n = match self.param_count {
            Some(n) => n,
            None => *self.param_count.insert(self.walk_params()),
        };
        if n >= PARALLEL_STEP_PARAMS {
            sinew_tensor::runtime::in_pool(|| f(self))
        } else {
            f(self)
        }
    }

    /// Whether each weight of [`Model::get_weights`] is trainable now (Keras'
    /// `trainable_weights` against `non_trainable_weights`, in `get_weights` order).
    pub fn trainable_mask(&self) -> Vec<bool> {
        self.trainable_flags()
    }
    /// The id of every weight, in `get_weights` order: what [`sinew_tensor::Gradients`] from a
    /// loss's `backward` are keyed by.
    pub fn weight_ids(&self) -> Vec<sinew_tensor::TensorId> {
        self.layers.iter().flat_map(|l| l.params()).map(|p| p.value.id()).collect()
    }
    /// Copies of every weight (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        crate::weights::get_weights(&self.layers)
    }
    /// Sets every weight; checks count and shapes first.
    pub fn set_weights(&mut self, w: &[Tensor]) -> Result<()> {
        crate::weights::set_weights(&mut self.layers, w)
    }
}

/// The next Keras-style default name for a layer: `dense`, `dense_1`, ... (or its given name).
pub(crate) fn unique_name(counters: &mut HashMap<String, usize>, cfg: &dyn LayerConfig) -> String {
    match cfg.name() {
        Some(n) => n.to_string(),
        None => {
            let base = snake_case(cfg.class_name());
            let k = counters.entry(base.clone()).or_insert(0);
            let n = if *k == 0 { base.clone() } else { format!("{base}_{k}") };
            *k += 1;
            n
        }
    }
}

/// One output's per-sample loss, from its logits where the loss can use them.
fn out_per_sample(loss: &dyn Loss, y: &Tensor, out: &Out) -> Tensor {
    match out {
        Out::Logits(z, act) => {
            loss.per_sample_from_logits(y, z, *act).unwrap_or_else(|| loss.per_sample(y, &act.apply(z)))
        }
        Out::Value(p) => loss.per_sample(y, p),
    }
}

/// The per-sample loss of a sequence output with a Keras mask `(batch, steps)`: masked steps
/// count for nothing, and the batch's mean is over the real steps only, as in Keras
/// (`Σ mask·loss / Σ mask`): each sample gives `Σ_t mask·loss · batch / Σ mask`.
fn masked_per_sample(loss: &dyn Loss, y: &Tensor, out: &Out, mask: &Tensor) -> Tensor {
    let (batch, steps) = (mask.dims()[0], mask.dims()[1]);
    let flat = |t: &Tensor| {
        let mut d = vec![batch * steps];
        d.extend_from_slice(&t.dims()[2.min(t.rank())..]);
        t.reshape(d)
    };
    let y = if y.rank() >= 2 { flat(y) } else { y.clone() };
    let out = match out {
        Out::Logits(z, act) => Out::Logits(flat(z), *act),
        Out::Value(p) => Out::Value(flat(p)),
    };
    let m = mask.to_dtype(out.tensor().dtype());
    let per_step = out_per_sample(loss, &y, &out).reshape([batch, steps]).mul(&m);
    let real = no_grad(|| m.sum_all().item()).max(1.0);
    per_step.sum(&[1], false).mul_scalar(batch as f64 / real)
}
