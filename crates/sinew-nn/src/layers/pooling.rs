//! Pooling layers, channels_last: MaxPooling1D/2D, AveragePooling1D/2D and the global poolings.

use super::conv::{window, Padding};
use super::declare::{declare_layer, named_config, per_axis, Declared};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use serde_json::Value;
use sinew_tensor::{Pool2dOpts, Rng, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduce {
    Max,
    Average,
}

/// What a windowed pooling layer does, from its declared arguments: the reduction, the number
/// of spatial axes, and the window with one entry per axis.
#[derive(Clone, Debug)]
struct Window {
    class: &'static str,
    reduce: Reduce,
    rank: usize,
    pool_size: Vec<usize>,
    strides: Vec<usize>,
    padding: Padding,
}

impl Window {
    fn new(
        class: &'static str,
        reduce: Reduce,
        rank: usize,
        pool_size: &[usize],
        strides: Option<&[usize]>,
        padding: Padding,
    ) -> Self {
        let pool_size = per_axis(pool_size, rank);
        // Keras: the strides default to the pool size.
        let strides = strides.map_or_else(|| pool_size.clone(), |s| per_axis(s, rank));
        Window { class, reduce, rank, pool_size, strides, padding }
    }

    fn build(self, args: Value, name: String, input: &[usize]) -> Result<Box<dyn Layer>> {
        let class = self.class;
        for (what, v) in [("pool_size", &self.pool_size), ("strides", &self.strides)] {
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
            let Some((o, before, after)) = window(input[a], self.pool_size[a], self.strides[a], 1, self.padding) else {
                return Err(Error::shape(format!(
                    "Input 0 of layer {name} is incompatible: pool_size {:?} is larger than the input {input:?}",
                    self.pool_size
                )));
            };
            if before.max(after) >= self.pool_size[a] {
                return Err(Error::invalid(format!(
                    "{class}: padding \"same\" with strides {:?} larger than pool_size {:?} is not supported",
                    self.strides, self.pool_size
                )));
            }
            out.push(o);
            pads.extend([before, after]);
        }
        out.push(input[self.rank]);
        Ok(Box::new(PoolLayer { window: self, args, name, pads, out }))
    }
}

/// Declares one windowed pooling class. Padding `same` pads so that output = ceil(input /
/// stride); padded cells never win a max and are not counted in an average, as in Keras.
macro_rules! windowed_pooling {
    ($t:ident, $class:literal, $reduce:expr, $rank:literal, $doc:literal) => {
        declare_layer! {
            #[doc = $doc]
            pub struct $t($class) {
                new(),
                /// The window, per spatial axis (one value: every axis).
                pool_size: Vec<usize> = vec![2; $rank],
                /// The step, per spatial axis (`None`: the pool size).
                strides: Option<Vec<usize>> = None,
                /// `valid` or `same`.
                padding: Padding = Padding::Valid,
            }
        }
        impl LayerConfig for $t {
            fn class_name(&self) -> &'static str {
                Self::CLASS
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn build(&self, name: String, input: &[usize], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
                let w =
                    Window::new(Self::CLASS, $reduce, $rank, &self.pool_size, self.strides.as_deref(), self.padding);
                w.build(self.args(), name, input)
            }
        }
    };
}

windowed_pooling!(MaxPooling2D, "MaxPooling2D", Reduce::Max, 2, "Keras `MaxPooling2D` over `[rows, cols, channels]`.");
windowed_pooling!(
    AveragePooling2D,
    "AveragePooling2D",
    Reduce::Average,
    2,
    "Keras `AveragePooling2D` over `[rows, cols, channels]`."
);
windowed_pooling!(MaxPooling1D, "MaxPooling1D", Reduce::Max, 1, "Keras `MaxPooling1D` over `[steps, channels]`.");
windowed_pooling!(
    AveragePooling1D,
    "AveragePooling1D",
    Reduce::Average,
    1,
    "Keras `AveragePooling1D` over `[steps, channels]`."
);

/// A built windowed pooling layer.
#[derive(Clone)]
pub struct PoolLayer {
    window: Window,
    /// The declared arguments, for `config()`.
    args: Value,
    name: String,
    pads: Vec<usize>,
    out: Vec<usize>,
}

impl PoolLayer {
    fn opts2d(&self) -> Pool2dOpts {
        let (k, s, p) = (&self.window.pool_size, &self.window.strides, &self.pads);
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
        self.window.class
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let w = &self.window;
        let (k, s, p) = (&w.pool_size, &w.strides, &self.pads);
        match (w.reduce, w.rank) {
            (Reduce::Max, 1) => x.max_pool1d(k[0], s[0], [p[0], p[1]]),
            (Reduce::Average, 1) => x.avg_pool1d(k[0], s[0], [p[0], p[1]], false),
            (Reduce::Max, _) => x.max_pool2d(self.opts2d()),
            (Reduce::Average, _) => x.avg_pool2d(self.opts2d(), false),
        }
    }
    fn max_pool2d_opts(&self) -> Option<Pool2dOpts> {
        (self.window.reduce == Reduce::Max && self.window.rank == 2).then(|| self.opts2d())
    }
    fn config(&self) -> Value {
        named_config(self.args.clone(), self.window.class, &self.name)
    }
}

/// The per-sample output shape of a global pooling over `rank` spatial axes.
fn global_out_shape(class: &str, rank: usize, keepdims: bool, name: &str, input: &[usize]) -> Result<Vec<usize>> {
    if input.len() != rank + 1 || input.contains(&0) {
        return Err(Error::shape(format!(
            "Input 0 of layer {name} is incompatible: {class} expects {} non-empty axes, got shape {input:?}",
            rank + 1
        )));
    }
    let c = input[rank];
    Ok(if keepdims {
        let mut o = vec![1; rank];
        o.push(c);
        o
    } else {
        vec![c]
    })
}

/// One value per channel over all spatial positions.
fn global_pool(x: &Tensor, reduce: Reduce, rank: usize, keepdims: bool) -> Tensor {
    let axes: Vec<isize> = (1..=rank as isize).collect();
    match reduce {
        Reduce::Max => x.max(&axes, keepdims),
        Reduce::Average => x.mean(&axes, keepdims),
    }
}

/// Declares one global pooling class: one value per channel over all spatial positions.
/// Output shape: `[channels]`, or with `keepdims` the input rank with spatial axes of size 1.
macro_rules! global_pooling {
    ($t:ident, $built:ident, $class:literal, $reduce:expr, $rank:expr, $doc:literal) => {
        declare_layer! {
            #[doc = $doc]
            pub struct $t($class) {
                new(),
                /// Keep the spatial axes, with size 1.
                keepdims: bool = false,
            }
        }
        impl $t {
            fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
                global_out_shape(Self::CLASS, $rank, self.keepdims, name, input)
            }
            fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
                global_pool(x, $reduce, $rank, self.keepdims)
            }
        }
        stateless_layer!($t, $built);
    };
}

global_pooling!(
    GlobalAveragePooling2D,
    BuiltGlobalAveragePooling2D,
    "GlobalAveragePooling2D",
    Reduce::Average,
    2,
    "Keras `GlobalAveragePooling2D`: the mean of each channel over rows and columns."
);
global_pooling!(
    GlobalMaxPooling2D,
    BuiltGlobalMaxPooling2D,
    "GlobalMaxPooling2D",
    Reduce::Max,
    2,
    "Keras `GlobalMaxPooling2D`: the maximum of each channel over rows and columns."
);
global_pooling!(
    GlobalAveragePooling1D,
    BuiltGlobalAveragePooling1D,
    "GlobalAveragePooling1D",
    Reduce::Average,
    1,
    "Keras `GlobalAveragePooling1D`: the mean of each channel over the steps."
);
global_pooling!(
    GlobalMaxPooling1D,
    BuiltGlobalMaxPooling1D,
    "GlobalMaxPooling1D",
    Reduce::Max,
    1,
    "Keras `GlobalMaxPooling1D`: the maximum of each channel over the steps."
);
