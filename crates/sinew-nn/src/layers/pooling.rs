//! Pooling layers, channels_last: MaxPooling1D/2D, AveragePooling1D/2D and the global poolings.

use super::conv::{window, Padding};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use serde_json::{json, Value};
use sinew_tensor::{Pool2dOpts, Rng, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduce {
    Max,
    Average,
}

/// A pooling window's configuration: Keras `MaxPooling2D`, `AveragePooling2D` and their 1-D
/// forms, built with [`MaxPooling2D::new`] and friends.
///
/// Args: `pool_size` (2 or (2, 2)), `strides` (default: `pool_size`), `padding` (valid; `same`
/// pads so that output = ceil(input / stride); padded cells never win a max and are not counted
/// in an average, as in Keras). Input shape: `[steps, channels]` or `[rows, cols, channels]`.
#[derive(Clone, Debug)]
pub struct Pool {
    reduce: Reduce,
    rank: usize,
    pool_size: Vec<usize>,
    strides: Option<Vec<usize>>,
    padding: Padding,
    name: Option<String>,
}

/// Keras `MaxPooling2D`.
pub struct MaxPooling2D;
/// Keras `AveragePooling2D`.
pub struct AveragePooling2D;
/// Keras `MaxPooling1D`.
pub struct MaxPooling1D;
/// Keras `AveragePooling1D`.
pub struct AveragePooling1D;

impl MaxPooling2D {
    /// `pool_size` is `[k]` (square) or `[kh, kw]`; Keras' default is `[2, 2]`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: &[usize]) -> Pool {
        Pool::new(Reduce::Max, 2, pool_size)
    }
}
impl AveragePooling2D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: &[usize]) -> Pool {
        Pool::new(Reduce::Average, 2, pool_size)
    }
}
impl MaxPooling1D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: usize) -> Pool {
        Pool::new(Reduce::Max, 1, &[pool_size])
    }
}
impl AveragePooling1D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: usize) -> Pool {
        Pool::new(Reduce::Average, 1, &[pool_size])
    }
}

impl Pool {
    fn new(reduce: Reduce, rank: usize, pool_size: &[usize]) -> Self {
        let p = if pool_size.len() == 1 { vec![pool_size[0]; rank] } else { pool_size.to_vec() };
        Pool { reduce, rank, pool_size: p, strides: None, padding: Padding::Valid, name: None }
    }
    pub fn strides(mut self, s: &[usize]) -> Self {
        self.strides = Some(if s.len() == 1 { vec![s[0]; self.rank] } else { s.to_vec() });
        self
    }
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.name = Some(n.into());
        self
    }
    pub(crate) fn with_name(mut self, n: Option<String>) -> Self {
        self.name = n;
        self
    }
    fn class(&self) -> &'static str {
        match (self.reduce, self.rank) {
            (Reduce::Max, 1) => "MaxPooling1D",
            (Reduce::Max, _) => "MaxPooling2D",
            (Reduce::Average, 1) => "AveragePooling1D",
            (Reduce::Average, _) => "AveragePooling2D",
        }
    }
    fn stride_vec(&self) -> Vec<usize> {
        self.strides.clone().unwrap_or_else(|| self.pool_size.clone())
    }
}

impl LayerConfig for Pool {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let class = self.class();
        let strides = self.stride_vec();
        for (what, v) in [("pool_size", &self.pool_size), ("strides", &strides)] {
            if v.len() != self.rank || v.contains(&0) {
                return Err(Error::invalid(format!(
                    "{class}: {what} must be {} positive integers, got {v:?}",
                    self.rank
                )));
            }
        }
        if self.padding == Padding::Causal {
            return Err(Error::invalid(format!("{class}: padding must be \"valid\" or \"same\", got \"causal\"")));
        }
        if input.len() != self.rank + 1 {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {class} expects {} axes, got shape {input:?}",
                self.rank + 1
            )));
        }
        let mut out = vec![];
        let mut pads = vec![];
        for a in 0..self.rank {
            let Some((o, before, after)) = window(input[a], self.pool_size[a], strides[a], 1, self.padding) else {
                return Err(Error::shape(format!(
                    "Input 0 of layer {name} is incompatible: pool_size {:?} is larger than the input {input:?}",
                    self.pool_size
                )));
            };
            if before.max(after) >= self.pool_size[a] {
                return Err(Error::invalid(format!(
                    "{class}: padding \"same\" with strides {strides:?} larger than pool_size {:?} is not supported",
                    self.pool_size
                )));
            }
            out.push(o);
            pads.extend([before, after]);
        }
        out.push(input[self.rank]);
        Ok(Box::new(PoolLayer { cfg: self.clone(), name, strides, pads, out }))
    }
}

/// A built pooling layer.
#[derive(Clone)]
pub struct PoolLayer {
    cfg: Pool,
    name: String,
    strides: Vec<usize>,
    pads: Vec<usize>,
    out: Vec<usize>,
}

impl PoolLayer {
    fn opts2d(&self) -> Pool2dOpts {
        let (k, s, p) = (&self.cfg.pool_size, &self.strides, &self.pads);
        Pool2dOpts { kernel: [k[0], k[1]], stride: [s[0], s[1]], padding: [p[0], p[1], p[2], p[3]] }
    }
}

impl Layer for PoolLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        self.cfg.class()
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let (k, s, p) = (&self.cfg.pool_size, &self.strides, &self.pads);
        match (self.cfg.reduce, self.cfg.rank) {
            (Reduce::Max, 1) => x.max_pool1d(k[0], s[0], [p[0], p[1]]),
            (Reduce::Average, 1) => x.avg_pool1d(k[0], s[0], [p[0], p[1]], false),
            (Reduce::Max, _) => x.max_pool2d(self.opts2d()),
            (Reduce::Average, _) => x.avg_pool2d(self.opts2d(), false),
        }
    }
    fn max_pool2d_opts(&self) -> Option<Pool2dOpts> {
        (self.cfg.reduce == Reduce::Max && self.cfg.rank == 2).then(|| self.opts2d())
    }
    fn config(&self) -> Value {
        json!({"class_name": self.cfg.class(), "name": self.name, "pool_size": self.cfg.pool_size,
               "strides": self.strides, "padding": self.cfg.padding.name()})
    }
}

pub(crate) fn pool_from_config(class: &str, v: &Value) -> Result<Pool> {
    let ints = |key: &str| super::usize_list(v, class, key);
    let k = ints("pool_size")?;
    let p = match class {
        "MaxPooling2D" => MaxPooling2D::new(&k),
        "AveragePooling2D" => AveragePooling2D::new(&k),
        "MaxPooling1D" => MaxPooling1D::new(*k.first().unwrap_or(&0)),
        "AveragePooling1D" => AveragePooling1D::new(*k.first().unwrap_or(&0)),
        other => return Err(Error::invalid(format!("not a pooling class: {other:?}"))),
    };
    Ok(p.strides(&ints("strides")?)
        .padding(Padding::from_name(v["padding"].as_str().unwrap_or("?"))?)
        .with_name(v["name"].as_str().map(str::to_string)))
}

/// Keras `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`: one value per channel over all
/// spatial positions. Args: `keepdims` (false). Output shape: `[channels]`, or with `keepdims`
/// the input rank with spatial axes of size 1.
#[derive(Clone, Debug)]
pub struct GlobalPool {
    reduce: Reduce,
    rank: usize,
    keepdims: bool,
    name: Option<String>,
}

/// Keras `GlobalAveragePooling2D`.
pub struct GlobalAveragePooling2D;
/// Keras `GlobalMaxPooling2D`.
pub struct GlobalMaxPooling2D;
/// Keras `GlobalAveragePooling1D`.
pub struct GlobalAveragePooling1D;
/// Keras `GlobalMaxPooling1D`.
pub struct GlobalMaxPooling1D;

macro_rules! global_ctor {
    ($t:ident, $r:expr, $rank:expr) => {
        impl $t {
            #[allow(clippy::new_ret_no_self)]
            pub fn new() -> GlobalPool {
                GlobalPool { reduce: $r, rank: $rank, keepdims: false, name: None }
            }
        }
    };
}
global_ctor!(GlobalAveragePooling2D, Reduce::Average, 2);
global_ctor!(GlobalMaxPooling2D, Reduce::Max, 2);
global_ctor!(GlobalAveragePooling1D, Reduce::Average, 1);
global_ctor!(GlobalMaxPooling1D, Reduce::Max, 1);

impl GlobalPool {
    pub fn keepdims(mut self, k: bool) -> Self {
        self.keepdims = k;
        self
    }
    fn class(&self) -> &'static str {
        match (self.reduce, self.rank) {
            (Reduce::Max, 1) => "GlobalMaxPooling1D",
            (Reduce::Max, _) => "GlobalMaxPooling2D",
            (Reduce::Average, 1) => "GlobalAveragePooling1D",
            (Reduce::Average, _) => "GlobalAveragePooling2D",
        }
    }
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() != self.rank + 1 || input.contains(&0) {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {} expects {} non-empty axes, got shape {input:?}",
                self.class(),
                self.rank + 1
            )));
        }
        let c = input[self.rank];
        Ok(if self.keepdims {
            let mut o = vec![1; self.rank];
            o.push(c);
            o
        } else {
            vec![c]
        })
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let axes: Vec<isize> = (1..=self.rank as isize).collect();
        match self.reduce {
            Reduce::Max => x.max(&axes, self.keepdims),
            Reduce::Average => x.mean(&axes, self.keepdims),
        }
    }
    fn args(&self) -> Value {
        json!({"keepdims": self.keepdims})
    }
}

stateless_layer!(GlobalPool, GlobalPoolLayer, dynamic);

pub(crate) fn global_pool_from_config(class: &str, v: &Value) -> Result<GlobalPool> {
    let g = match class {
        "GlobalAveragePooling2D" => GlobalAveragePooling2D::new(),
        "GlobalMaxPooling2D" => GlobalMaxPooling2D::new(),
        "GlobalAveragePooling1D" => GlobalAveragePooling1D::new(),
        "GlobalMaxPooling1D" => GlobalMaxPooling1D::new(),
        other => return Err(Error::invalid(format!("not a global pooling class: {other:?}"))),
    };
    Ok(g.keepdims(v["keepdims"].as_bool().unwrap_or(false)).with_name(v["name"].as_str().map(str::to_string)))
}
