//! Keras `Sequential`: a stack of layers with `compile`, `fit`, `evaluate` and `predict`.

use crate::callbacks::{Control, Logs};
use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::history::History;
use crate::metrics::{metric_from_name, Metric};
use sinew_nn::{loss_from_name, reduce, snake_case, Ctx, Layer, LayerConfig, Loss, Param, Reduction};
use sinew_optim::Optimizer;
use sinew_tensor::{no_grad, Rng, Tensor};
use std::collections::HashMap;

/// A loss given to `compile`: a Keras name or a loss object.
pub enum LossSpec {
    Name(String),
    Custom(Box<dyn Loss>),
}

impl From<&str> for LossSpec {
    fn from(s: &str) -> Self {
        LossSpec::Name(s.to_string())
    }
}

impl From<Box<dyn Loss>> for LossSpec {
    fn from(l: Box<dyn Loss>) -> Self {
        LossSpec::Custom(l)
    }
}

macro_rules! loss_spec_from {
    ($($t:ty),*) => {$(
        impl From<$t> for LossSpec {
            fn from(l: $t) -> Self {
                LossSpec::Custom(Box::new(l))
            }
        }
    )*};
}
loss_spec_from!(
    sinew_nn::BinaryCrossentropy,
    sinew_nn::CategoricalCrossentropy,
    sinew_nn::SparseCategoricalCrossentropy,
    sinew_nn::ElementwiseLoss,
    sinew_nn::KlDivergence,
    sinew_nn::CategoricalHinge
);

pub(crate) struct Compiled {
    pub(crate) metric_names: Vec<String>,
    pub(crate) optimizer: Optimizer,
    pub(crate) loss: Box<dyn Loss>,
    pub(crate) metrics: Vec<Box<dyn Metric>>,
    pub(crate) val_metrics: Vec<Box<dyn Metric>>,
}

/// A linear stack of layers (Keras `keras.Sequential`).
pub struct Sequential {
    name: String,
    input_shape: Option<Vec<usize>>,
    pending: Vec<Box<dyn LayerConfig>>,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    pub(crate) compiled: Option<Compiled>,
    pub(crate) rng: Rng,
    counters: HashMap<String, usize>,
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    pub fn new() -> Self {
        Sequential {
            name: "sequential".into(),
            input_shape: None,
            pending: vec![],
            layers: vec![],
            compiled: None,
            rng: Rng::seed(0),
            counters: HashMap::new(),
        }
    }
    /// Seeds weight initialisation, dropout and shuffling (Keras `set_random_seed`).
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.rng = Rng::seed(seed);
        self
    }
    /// The per-sample input shape (Keras `keras.Input(shape=...)` as the first layer).
    pub fn input(&mut self, shape: &[usize]) -> &mut Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// Appends a layer (Keras `model.add`). Building happens at `build`, `compile` or `summary`.
    pub fn add(&mut self, layer: impl LayerConfig + 'static) -> &mut Self {
        self.pending.push(Box::new(layer));
        self
    }
    /// The per-sample input shape, if set.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    pub(crate) fn pending_push(&mut self, cfg: Box<dyn LayerConfig>) {
        self.pending.push(cfg);
    }
    /// Removes the last layer (Keras `model.pop`).
    pub fn pop(&mut self) -> Result<()> {
        if self.pending.pop().is_none() && self.layers.pop().is_none() {
            return Err(Error::state("pop: the model has no layers"));
        }
        Ok(())
    }
    /// Built layers.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }
    /// Builds pending layers against the input shape. Shape errors name the layer and shapes.
    pub fn build(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return if self.layers.is_empty() { Err(Error::state("build: the model has no layers")) } else { Ok(()) };
        }
        let mut shape = match self.layers.last() {
            Some(l) => l.output_shape().to_vec(),
            None => self.input_shape.clone().ok_or_else(|| {
                Error::state("build: the input shape is unknown; call `input(&[...])` before adding layers (Keras `keras.Input(shape=...)`)")
            })?,
        };
        for cfg in std::mem::take(&mut self.pending) {
            let name = match cfg.name() {
                Some(n) => n.to_string(),
                None => {
                    let base = snake_case(cfg.class_name());
                    let k = self.counters.entry(base.clone()).or_insert(0);
                    let n = if *k == 0 { base.clone() } else { format!("{base}_{k}") };
                    *k += 1;
                    n
                }
            };
            if self.layers.iter().any(|l| l.name() == name) {
                return Err(Error::new(format!("build: layer name {name:?} is used twice; names must be unique")));
            }
            let layer = cfg.build(name, &shape, &mut self.rng)?;
            shape = layer.output_shape().to_vec();
            self.layers.push(layer);
        }
        Ok(())
    }

    /// Per-sample output shape of the model.
    pub fn output_shape(&self) -> Option<&[usize]> {
        self.layers.last().map(|l| l.output_shape())
    }

    /// The Keras summary table: layer (type), output shape, params, then totals.
    pub fn summary(&mut self) -> Result<String> {
        self.build()?;
        let mut rows = vec![("Layer (type)".to_string(), "Output Shape".to_string(), "Param #".to_string())];
        let (mut total, mut trainable) = (0usize, 0usize);
        for l in &self.layers {
            let n: usize = l.params().iter().map(|p| p.value.numel()).sum();
            total += n;
            trainable += l.params().iter().filter(|p| p.trainable).map(|p| p.value.numel()).sum::<usize>();
            let shape: Vec<String> =
                std::iter::once("None".to_string()).chain(l.output_shape().iter().map(|d| d.to_string())).collect();
            rows.push((format!("{} ({})", l.name(), l.class_name()), format!("({})", shape.join(", ")), group(n)));
        }
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(28);
        let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(20);
        let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(10);
        let rule = |c: char| c.to_string().repeat(w0 + w1 + w2 + 4);
        let mut s = format!("Model: \"{}\"\n{}\n", self.name, rule('━'));
        for (i, (a, b, c)) in rows.iter().enumerate() {
            s += &format!("{a:<w0$}  {b:<w1$}  {c:>w2$}\n");
            s += &format!("{}\n", if i == 0 { rule('━') } else { rule('─') });
        }
        let bytes = |n: usize| format!("{:.2} KB", n as f64 * 4.0 / 1024.0);
        s += &format!(" Total params: {} ({})\n", group(total), bytes(total));
        s += &format!(" Trainable params: {} ({})\n", group(trainable), bytes(trainable));
        s += &format!(" Non-trainable params: {} ({})\n", group(total - trainable), bytes(total - trainable));
        Ok(s)
    }

    /// Keras `compile`: optimizer, loss (a name or a loss object) and metric names.
    pub fn compile(&mut self, optimizer: Optimizer, loss: impl Into<LossSpec>, metrics: &[&str]) -> Result<()> {
        self.build()?;
        let metric_names: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
        let loss = match loss.into() {
            LossSpec::Name(n) => loss_from_name(&n).map_err(|e| Error::new(format!("compile: {e}")))?,
            LossSpec::Custom(l) => l,
        };
        let make = |prefix: &str| -> Result<Vec<Box<dyn Metric>>> {
            metrics.iter().map(|m| metric_from_name(m, loss.name(), prefix)).collect()
        };
        let (metrics, val_metrics) = (make("")?, make("val_")?);
        self.compiled = Some(Compiled { metric_names, optimizer, loss, metrics, val_metrics });
        Ok(())
    }

    pub(crate) fn compiled(&mut self, what: &str) -> Result<&mut Compiled> {
        self.compiled
            .as_mut()
            .ok_or_else(|| Error::state(format!("{what}: the model must be compiled first (call `compile`)")))
    }

    /// The optimizer given to `compile`.
    pub fn optimizer(&self) -> Option<&Optimizer> {
        self.compiled.as_ref().map(|c| &c.optimizer)
    }

    /// Checks that `x` is `[batch, ..input shape]` and `y` has the same batch size.
    pub(crate) fn check_data(&self, what: &str, x: &Tensor, y: Option<&Tensor>) -> Result<()> {
        let want = self.input_shape.clone().unwrap_or_default();
        if x.rank() == 0 || x.dims()[1..] != want[..] {
            let got = if x.rank() == 0 { vec![] } else { x.dims()[1..].to_vec() };
            let first = self.layers.first().map(|l| l.name().to_string()).unwrap_or_default();
            return Err(Error::data(format!("{what}: input 0 of layer {first} is incompatible: expected per-sample shape {want:?}, got {got:?} (x has shape {:?})", x.dims())));
        }
        if let Some(y) = y {
            if y.rank() == 0 || y.dims()[0] != x.dims()[0] {
                return Err(Error::data(format!(
                    "{what}: x has {} samples but y has shape {:?}",
                    x.dims()[0],
                    y.dims()
                )));
            }
        }
        let finite = match x.dtype() {
            sinew_tensor::DType::F32 => x.as_slice_f32().iter().all(|v| v.is_finite()),
            sinew_tensor::DType::F64 => x.as_slice_f64().iter().all(|v| v.is_finite()),
        };
        if !finite {
            return Err(Error::data(format!("{what}: x contains NaN or infinite values")));
        }
        Ok(())
    }

    /// Forward pass through every layer.
    pub(crate) fn forward(&mut self, x: &Tensor, training: bool) -> Tensor {
        let mut ctx = Ctx { training, rng: &mut self.rng };
        let mut h = x.clone();
        for l in self.layers.iter_mut() {
            h = l.forward(&h, &mut ctx);
        }
        h
    }

    /// Loss of one batch (a scalar recorded for backward) and predictions for metrics. When the
    /// last layer ends in softmax/sigmoid and the loss can use logits, the loss is computed from
    /// the logits (stabler and fused), as Keras does on TensorFlow.
    pub(crate) fn loss_and_pred(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        sw: Option<&Tensor>,
        training: bool,
    ) -> (Tensor, Tensor) {
        let n = self.layers.len();
        let mut ctx = Ctx { training, rng: &mut self.rng };
        let mut h = x.clone();
        for l in self.layers[..n - 1].iter_mut() {
            h = l.forward(&h, &mut ctx);
        }
        let loss_fn = &self.compiled.as_ref().expect("compiled").loss;
        let last = &mut self.layers[n - 1];
        let (per_sample, pred) = match last.forward_logits(&h, &mut ctx) {
            Some((z, act)) => match loss_fn.per_sample_from_logits(y, &z, act) {
                Some(ps) => (ps, no_grad(|| act.apply(&z.detach()))),
                None => {
                    let p = act.apply(&z);
                    (loss_fn.per_sample(y, &p), p.detach())
                }
            },
            None => {
                let p = last.forward(&h, &mut ctx);
                (loss_fn.per_sample(y, &p), p.detach())
            }
        };
        let loss = reduce(&per_sample, sw, Reduction::SumOverBatchSize);
        // Weight and activity penalties (Keras `model.losses`) join the loss in training and
        // evaluation alike; they are read after the forward pass that produced the activities.
        let loss = match self.layers.iter_mut().filter_map(|l| l.regularization_loss()).reduce(|a, b| a.add(&b)) {
            Some(r) => loss.add(&r),
            None => loss,
        };
        (loss, pred)
    }

    /// One optimisation step on a batch; returns the loss and the predictions (detached).
    pub(crate) fn step(&mut self, x: &Tensor, y: &Tensor, sw: Option<&Tensor>) -> (f64, Tensor) {
        let alpha = self.compiled.as_ref().expect("compiled").optimizer.backstitch_alpha();
        if let Some(a) = alpha {
            let (loss, _) = self.loss_and_pred(x, y, sw, true);
            let grads = loss.backward();
            self.apply(&grads, -a, false);
            let (loss, pred) = self.loss_and_pred(x, y, sw, true);
            let grads = loss.backward();
            self.apply(&grads, 1.0 + a, true);
            return (loss.item(), pred);
        }
        let (loss, pred) = self.loss_and_pred(x, y, sw, true);
        let grads = loss.backward();
        self.apply(&grads, 1.0, true);
        (loss.item(), pred)
    }

    fn apply(&mut self, grads: &sinew_tensor::Gradients, scale: f64, count: bool) {
        let c = self.compiled.as_mut().expect("compiled");
        let mut params: Vec<&mut Param> = self.layers.iter_mut().flat_map(|l| l.params_mut()).collect();
        c.optimizer.apply_scaled(&mut params, grads, scale, count);
        for p in params.iter_mut() {
            p.apply_constraint();
        }
    }

    /// Keras `model(x, training=...)`: the forward pass, recorded for autograd, so custom training
    /// steps (GANs, VAEs) can build their own losses.
    pub fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.build()?;
        self.check_data("call", x, None)?;
        Ok(self.forward(x, training))
    }

    /// Keras `optimizer.apply_gradients(zip(grads, model.trainable_weights))`: one optimizer step
    /// on this model's trainable weights from `grads` (weights absent from `grads` are left
    /// alone), then the weight constraints. Needs `compile` for the optimizer.
    pub fn apply_gradients(&mut self, grads: &sinew_tensor::Gradients) -> Result<()> {
        self.compiled("apply_gradients")?;
        self.apply(grads, 1.0, true);
        Ok(())
    }

    /// The compiled loss applied to targets and predictions, reduced to a scalar (Keras
    /// `compute_loss`), for custom training steps.
    pub fn compute_loss(&mut self, y: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let c = self.compiled("compute_loss")?;
        Ok(reduce(&c.loss.per_sample(y, y_pred), None, Reduction::SumOverBatchSize))
    }

    /// Keras `fit`. Returns the History of per-epoch logs.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, opts: Fit<'_>) -> Result<History> {
        crate::fit::fit(self, x, y, opts)
    }

    /// Keras `evaluate`: the loss and metrics over `x`, in batches.
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        self.compiled("evaluate")?;
        self.check_data("evaluate", x, Some(y))?;
        Ok(crate::fit::evaluate_batches(self, x, y, batch_size.max(1), false))
    }

    /// Keras `predict`: outputs for `x`, in batches, in inference mode.
    pub fn predict(&mut self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        self.build()?;
        self.check_data("predict", x, None)?;
        let n = x.dims()[0];
        let bs = batch_size.max(1);
        let outs: Vec<Tensor> =
            no_grad(|| (0..n).step_by(bs).map(|s| self.forward(&x.narrow(0, s, bs.min(n - s)), false)).collect());
        let refs: Vec<&Tensor> = outs.iter().collect();
        Ok(Tensor::concat(&refs, 0))
    }

    /// Keras `train_on_batch`: one step; returns the batch loss and metrics.
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        self.compiled("train_on_batch")?;
        self.check_data("train_on_batch", x, Some(y))?;
        let (loss, pred) = self.step(x, y, None);
        let c = self.compiled.as_mut().expect("compiled");
        let mut logs = Logs::default();
        logs.set("loss", loss);
        for m in c.metrics.iter_mut() {
            m.reset();
        }
        crate::metrics::update_all(&mut c.metrics, y, &pred);
        for m in &c.metrics {
            logs.set(m.name(), m.result());
        }
        Ok(logs)
    }

    /// Keras `test_on_batch`: loss and metrics of one batch, no update.
    pub fn test_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        self.evaluate(x, y, x.dims().first().copied().unwrap_or(1).max(1))
    }

    /// Keras `predict_on_batch`.
    pub fn predict_on_batch(&mut self, x: &Tensor) -> Result<Tensor> {
        self.predict(x, x.dims().first().copied().unwrap_or(1).max(1))
    }

    /// Copies of every weight (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        crate::weights::get_weights(&self.layers)
    }
    /// Sets every weight; checks count and shapes first.
    pub fn set_weights(&mut self, w: &[Tensor]) -> Result<()> {
        crate::weights::set_weights(&mut self.layers, w)
    }

    pub(crate) fn control(&mut self) -> Control<'_> {
        let c = self.compiled.as_mut().expect("compiled");
        Control { stop_training: false, resume_epoch: None, optimizer: &mut c.optimizer, layers: &mut self.layers }
    }
}

/// `1234567` -> `1,234,567`.
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
