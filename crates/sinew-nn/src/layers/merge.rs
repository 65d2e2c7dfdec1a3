//! Merge layers (Keras `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`,
//! `Concatenate`): layers called on a list of tensors, for skip connections and multi-input
//! models. Elementwise merges broadcast per-sample shapes as NumPy does; `Concatenate` joins along
//! `axis` (counted with the batch axis, as in Keras; default -1).

use super::declare::{declare_layer, named_config, Declared};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

/// Which merge a layer performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MergeKind {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
}

impl MergeKind {
    fn class(self) -> &'static str {
        match self {
            MergeKind::Add => "Add",
            MergeKind::Subtract => "Subtract",
            MergeKind::Multiply => "Multiply",
            MergeKind::Average => "Average",
            MergeKind::Maximum => "Maximum",
            MergeKind::Minimum => "Minimum",
            MergeKind::Concatenate => "Concatenate",
        }
    }
}

/// What a merge layer does, from its declared arguments.
#[derive(Clone, Debug)]
struct MergeSpec {
    kind: MergeKind,
    /// The concatenation axis, counted with the batch axis.
    axis: isize,
}

impl MergeSpec {
    fn out_shape(&self, name: &str, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let class = self.kind.class();
        let need = if self.kind == MergeKind::Subtract { "exactly 2" } else { "at least 2" };
        if shapes.len() < 2 || (self.kind == MergeKind::Subtract && shapes.len() != 2) {
            return Err(Error::shape(format!(
                "{name} ({class}): needs {need} inputs, got {} (call it on a list of tensors)",
                shapes.len()
            )));
        }
        if self.kind == MergeKind::Concatenate {
            let rank = shapes[0].len() + 1;
            let axis = if self.axis < 0 { rank as isize + self.axis } else { self.axis };
            if axis < 1 || axis >= rank as isize {
                return Err(Error::invalid(format!(
                    "{name} (Concatenate): axis must name a non-batch axis of the rank-{rank} inputs, got {}",
                    self.axis
                )));
            }
            let a = axis as usize - 1;
            let mut out = shapes[0].clone();
            for s in &shapes[1..] {
                let same_rest = s.len() == out.len() && (0..s.len()).all(|i| i == a || s[i] == out[i]);
                if !same_rest {
                    return Err(Error::shape(format!(
                        "{name} (Concatenate): inputs must match except on axis {}, got shapes {}",
                        self.axis,
                        shape_list(shapes)
                    )));
                }
                out[a] += s[a];
            }
            return Ok(out);
        }
        let mut out = shapes[0].clone();
        for s in &shapes[1..] {
            out = broadcast(&out, s).ok_or_else(|| {
                Error::shape(format!("{name} ({class}): inputs have incompatible shapes {}", shape_list(shapes)))
            })?;
        }
        Ok(out)
    }
}

/// `(None, 3, 4)`-style display of a per-sample shape, as Keras prints it.
fn batch_shape(s: &[usize]) -> String {
    let dims: Vec<String> = std::iter::once("None".to_string()).chain(s.iter().map(|d| d.to_string())).collect();
    format!("({})", dims.join(", "))
}

fn shape_list(shapes: &[Vec<usize>]) -> String {
    shapes.iter().map(|s| batch_shape(s)).collect::<Vec<_>>().join(" and ")
}

/// NumPy broadcast of two shapes, or `None` when they are incompatible.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

impl MergeSpec {
    fn build(self, args: Value, name: String, inputs: &[Vec<usize>]) -> Result<Box<dyn Layer>> {
        let out = self.out_shape(&name, inputs)?;
        let axis = if self.axis < 0 { (inputs[0].len() + 1) as isize + self.axis } else { self.axis };
        Ok(Box::new(MergeLayer { kind: self.kind, args, name, out, axis }))
    }
}

/// The `LayerConfig` of a declared merge class: built on a list of inputs.
macro_rules! merge_config {
    ($t:ident, $kind:expr, |$c:ident| $axis:expr) => {
        impl LayerConfig for $t {
            fn class_name(&self) -> &'static str {
                Self::CLASS
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
                self.build_many(name, &[input.to_vec()], rng)
            }
            fn build_many(&self, name: String, inputs: &[Vec<usize>], _rng: &mut Rng) -> Result<Box<dyn Layer>> {
                let $c = self;
                MergeSpec { kind: $kind, axis: $axis }.build(self.args(), name, inputs)
            }
        }
    };
}

/// Declares an elementwise merge class, which takes no arguments.
macro_rules! elementwise_merge {
    ($($t:ident $class:literal),*) => {$(
        declare_layer! {
            #[doc = concat!("Keras `", $class, "`: an elementwise merge; call it on a list of tensors.")]
            pub struct $t($class) {
                new(),
            }
        }
        merge_config!($t, MergeKind::$t, |_c| -1);
    )*};
}
elementwise_merge!(
    Add "Add",
    Subtract "Subtract",
    Multiply "Multiply",
    Average "Average",
    Maximum "Maximum",
    Minimum "Minimum"
);

declare_layer! {
    /// Keras `Concatenate`: joins a list of tensors along `axis`; the other axes must match.
    pub struct Concatenate("Concatenate") {
        new(),
        /// The axis, counted with the batch axis (negative counts from the end).
        axis: isize = -1,
    }
}
merge_config!(Concatenate, MergeKind::Concatenate, |c| c.axis);

/// A built merge layer.
#[derive(Clone)]
pub struct MergeLayer {
    kind: MergeKind,
    /// The declared arguments, for `config()`.
    args: Value,
    name: String,
    out: Vec<usize>,
    /// The concatenation axis, non-negative, counted with the batch axis.
    axis: isize,
}

impl Layer for MergeLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        self.kind.class()
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        panic!(
            "{} ({}): a merge layer takes a list of inputs, got one tensor of shape {:?}",
            self.name,
            self.class_name(),
            x.dims()
        )
    }
    fn forward_many(&mut self, xs: &[Tensor], _ctx: &mut Ctx) -> Tensor {
        let fold = |f: fn(&Tensor, &Tensor) -> Tensor| xs[1..].iter().fold(xs[0].clone(), |acc, x| f(&acc, x));
        match self.kind {
            MergeKind::Add => fold(Tensor::add),
            MergeKind::Subtract => xs[0].sub(&xs[1]),
            MergeKind::Multiply => fold(Tensor::mul),
            MergeKind::Average => fold(Tensor::add).mul_scalar(1.0 / xs.len() as f64),
            MergeKind::Maximum => fold(Tensor::maximum),
            MergeKind::Minimum => fold(Tensor::minimum),
            MergeKind::Concatenate => {
                let refs: Vec<&Tensor> = xs.iter().collect();
                Tensor::concat(&refs, self.axis)
            }
        }
    }
    fn config(&self) -> Value {
        named_config(self.args.clone(), self.kind.class(), &self.name)
    }
}
