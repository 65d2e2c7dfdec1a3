//! Normalization layers over the last (channel) axis: BatchNormalization and LayerNormalization.
//! Both are compositions of engine ops, so their gradients come from the ops' checked rules.

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use serde_json::Value;
use sinew_tensor::{no_grad, Rng, Tensor};

fn channels(class: &str, name: &str, input: &[usize]) -> Result<usize> {
    match input.last() {
        Some(&c) if c > 0 => Ok(c),
        _ => Err(Error::shape(format!(
            "Input 0 of layer {name} is incompatible: {class} needs a non-empty channel axis, got shape {input:?}"
        ))),
    }
}

fn check_eps(class: &str, eps: f64) -> Result<()> {
    if !(eps > 0.0) {
        return Err(Error::invalid(format!("{class}: epsilon must be a positive float, got {eps}")));
    }
    Ok(())
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta`, broadcasting the `[c]` statistics and weights.
fn normalize(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
) -> Tensor {
    let mut y = x.sub(mean).div(&var.add_scalar(eps).sqrt());
    if let Some(g) = gamma {
        y = y.mul(g);
    }
    if let Some(b) = beta {
        y = y.add(b);
    }
    y
}

declare_layer! {
    /// Keras `BatchNormalization` on the last axis. Training normalises with the batch statistics
    /// (over every axis but the last) and updates `moving_mean`/`moving_variance` with `momentum`;
    /// inference uses the moving statistics.
    /// Weights: `gamma`, `beta` (trainable), `moving_mean`, `moving_variance` (non-trainable).
    ///
    /// In data-parallel training each replica normalises with the statistics of its own rows;
    /// `synchronized(true)` (Keras' `synchronized=True`, PyTorch's `SyncBatchNorm`) normalises
    /// with the statistics of the whole global batch, summed over the replicas forward and
    /// backward, so N replicas compute what one process computes. On one process it changes
    /// nothing.
    pub struct BatchNormalization("BatchNormalization") {
        new(),
        /// The weight of the old moving statistics in each update, in [0, 1].
        momentum: f64 = 0.99,
        /// Added to the variance before its square root.
        epsilon: f64 = 1e-3,
        /// Learn an offset `beta`.
        center: bool = true,
        /// Learn a scale `gamma`.
        scale: bool = true,
        /// Batch statistics over every replica of a data-parallel step.
        synchronized: bool = false,
    }
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerConfig for BatchNormalization {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let c = channels("BatchNormalization", &name, input)?;
        check_eps("BatchNormalization", self.epsilon)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(format!(
                "BatchNormalization: momentum must be in [0, 1], got {}",
                self.momentum
            )));
        }
        let mut params = vec![];
        if self.scale {
            params.push(Param::trainable("gamma", Initializer::Ones.init(&[c], rng)));
        }
        if self.center {
            params.push(Param::trainable("beta", Initializer::Zeros.init(&[c], rng)));
        }
        params.push(Param::state("moving_mean", Tensor::zeros([c])));
        params.push(Param::state("moving_variance", Tensor::ones([c])));
        Ok(Box::new(BatchNormLayer { cfg: self.clone(), name, params, out: input.to_vec(), frozen: false }))
    }
}

/// A built [`BatchNormalization`].
#[derive(Clone)]
pub struct BatchNormLayer {
    cfg: BatchNormalization,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
    /// Keras `trainable = False`: the layer runs in inference mode even in a training step.
    frozen: bool,
}

impl BatchNormLayer {
    fn get(&self, n: &str) -> Option<&Tensor> {
        self.params.iter().find(|p| p.name == n).map(|p| &p.value)
    }
    fn set_state(&mut self, n: &str, v: Tensor) {
        let p = self.params.iter_mut().find(|p| p.name == n).expect("moving statistics exist");
        p.value = if p.value.requires_grad() { v.with_grad() } else { v };
    }
}

impl Layer for BatchNormLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (gamma, beta) = (self.get("gamma").cloned(), self.get("beta").cloned());
        // Keras: a frozen BatchNormalization normalises with its moving statistics and leaves
        // them alone, in training too (fine-tuning, a GAN's frozen discriminator).
        if !ctx.training || self.frozen {
            let (m, v) = (self.get("moving_mean").unwrap().clone(), self.get("moving_variance").unwrap().clone());
            return normalize(x, &m, &v, self.cfg.epsilon, gamma.as_ref(), beta.as_ref());
        }
        let axes: Vec<isize> = (0..x.rank() as isize - 1).collect();
        let replicas = if self.cfg.synchronized { sinew_tensor::runtime::replicas() } else { None };
        let (mean, var) = match replicas {
            None => {
                let mean = x.mean(&axes, false);
                (mean.clone(), x.sub(&mean).square().mean(&axes, false))
            }
            // The global batch's moments in two passes, as one process computes them: the
            // sum over every replica's rows, then the squared deviations from that mean.
            Some(reps) => {
                let mut rows = [(x.numel() / x.dims()[x.rank() - 1]) as f64];
                reps.sum(&mut rows);
                let mean = x.sum(&axes, false).replica_sum().mul_scalar(1.0 / rows[0]);
                let var = x.sub(&mean).square().sum(&axes, false).replica_sum().mul_scalar(1.0 / rows[0]);
                (mean, var)
            }
        };
        let y = normalize(x, &mean, &var, self.cfg.epsilon, gamma.as_ref(), beta.as_ref());
        // Keras: moving = moving * momentum + batch * (1 - momentum), with the biased variance.
        let mo = self.cfg.momentum;
        let (new_m, new_v) = no_grad(|| {
            let m = self.get("moving_mean").unwrap().detach().mul_scalar(mo).add(&mean.detach().mul_scalar(1.0 - mo));
            let v =
                self.get("moving_variance").unwrap().detach().mul_scalar(mo).add(&var.detach().mul_scalar(1.0 - mo));
            (m, v)
        });
        self.set_state("moving_mean", new_m);
        self.set_state("moving_variance", new_v);
        y
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), BatchNormalization::CLASS, &self.name)
    }
    fn trainable(&self) -> bool {
        !self.frozen
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.frozen = !trainable;
        for p in &mut self.params {
            if p.name == "gamma" || p.name == "beta" {
                p.set_trainable(trainable);
            }
        }
    }
}

declare_layer! {
    /// Keras `LayerNormalization` on the last axis: each sample normalised by its own mean and
    /// variance over the channels, then scaled by `gamma` and shifted by `beta`.
    pub struct LayerNormalization("LayerNormalization") {
        new(),
        /// Added to the variance before its square root.
        epsilon: f64 = 1e-3,
        /// Learn an offset `beta`.
        center: bool = true,
        /// Learn a scale `gamma`.
        scale: bool = true,
    }
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerConfig for LayerNormalization {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let c = channels("LayerNormalization", &name, input)?;
        check_eps("LayerNormalization", self.epsilon)?;
        let mut params = vec![];
        if self.scale {
            params.push(Param::trainable("gamma", Initializer::Ones.init(&[c], rng)));
        }
        if self.center {
            params.push(Param::trainable("beta", Initializer::Zeros.init(&[c], rng)));
        }
        Ok(Box::new(LayerNormLayer { cfg: self.clone(), name, params, out: input.to_vec() }))
    }
}

/// A built [`LayerNormalization`].
#[derive(Clone)]
pub struct LayerNormLayer {
    cfg: LayerNormalization,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
}

impl Layer for LayerNormLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "LayerNormalization"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let mean = x.mean(&[-1], true);
        let var = x.sub(&mean).square().mean(&[-1], true);
        let find = |n: &str| self.params.iter().find(|p| p.name == n).map(|p| p.value.clone());
        normalize(x, &mean, &var, self.cfg.epsilon, find("gamma").as_ref(), find("beta").as_ref())
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), LayerNormalization::CLASS, &self.name)
    }
}

declare_layer! {
    /// Keras `GroupNormalization` on the last axis: channels split into `groups`, each sample
    /// normalised per group over its spatial positions and the group's channels. `groups = -1`
    /// gives one channel per group (instance normalization).
    pub struct GroupNormalization("GroupNormalization") {
        new(),
        /// The number of channel groups (`-1`: one per channel); it must divide the channels.
        groups: isize = 32,
        /// Added to the variance before its square root.
        epsilon: f64 = 1e-3,
        /// Learn an offset `beta`.
        center: bool = true,
        /// Learn a scale `gamma`.
        scale: bool = true,
    }
}

impl Default for GroupNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerConfig for GroupNormalization {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let c = channels("GroupNormalization", &name, input)?;
        check_eps("GroupNormalization", self.epsilon)?;
        let g = if self.groups == -1 { c } else { self.groups.max(0) as usize };
        if g == 0 || c % g != 0 {
            return Err(Error::invalid(format!(
                "GroupNormalization: groups must divide the {c} channels (or be -1), got {}",
                self.groups
            )));
        }
        let mut params = vec![];
        if self.scale {
            params.push(Param::trainable("gamma", Initializer::Ones.init(&[c], rng)));
        }
        if self.center {
            params.push(Param::trainable("beta", Initializer::Zeros.init(&[c], rng)));
        }
        Ok(Box::new(GroupNormLayer { cfg: self.clone(), groups: g, name, params, out: input.to_vec() }))
    }
}

/// A built [`GroupNormalization`].
#[derive(Clone)]
pub struct GroupNormLayer {
    cfg: GroupNormalization,
    groups: usize,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
}

impl Layer for GroupNormLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "GroupNormalization"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        // [batch, ..., c] -> [batch, positions, groups, c / groups]; statistics over axes 1 and 3.
        let (n, c) = (x.dims()[0], *x.dims().last().unwrap());
        let positions = x.numel() / (n * c).max(1);
        let g = self.groups;
        let xg = x.reshape([n, positions, g, c / g]);
        let mean = xg.mean(&[1, 3], true);
        let var = xg.sub(&mean).square().mean(&[1, 3], true);
        let y = xg.sub(&mean).div(&var.add_scalar(self.cfg.epsilon).sqrt()).reshape(x.shape().clone());
        let find = |name: &str| self.params.iter().find(|p| p.name == name).map(|p| p.value.clone());
        let y = match find("gamma") {
            Some(gm) => y.mul(&gm),
            None => y,
        };
        match find("beta") {
            Some(b) => y.add(&b),
            None => y,
        }
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        named_config(self.cfg.args(), GroupNormalization::CLASS, &self.name)
    }
}

declare_layer! {
    /// Keras `UnitNormalization` (cosine normalization): each sample scaled to unit L2 norm along the
    /// last axis, `x / max(||x||, 1e-6)`.
    pub struct UnitNormalization("UnitNormalization") {
        new(),
    }
}

impl UnitNormalization {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        x.div(&x.square().sum(&[-1], true).clamp(1e-12, f64::MAX).sqrt())
    }
}
stateless_layer!(UnitNormalization, BuiltUnitNormalization);
