//! Recurrent layers: Keras `SimpleRNN`, `LSTM` (with an optional peephole connection) and `GRU`.
//! Each runs its whole time loop as one engine op ([`Tensor::recurrent`]), forward and backward.
//!
//! Input `[timesteps, features]` per sample; output `[units]`, or `[timesteps, units]` with
//! `return_sequences`. Called on several tensors in the functional API, the first is the
//! sequence and the others the initial states (Keras `initial_state`: `[h]`, or `[h, c]` for the
//! LSTM).

use super::declare::{declare_layer, named_config, Declared};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{RecurrentCell, RecurrentInputs, RecurrentOpts, Rng, Tensor};

/// What the three classes share once configured.
#[derive(Clone, Debug)]
struct Rnn {
    class: &'static str,
    cell: RecurrentCell,
    units: usize,
    activation: Activation,
    recurrent_activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    unit_forget_bias: bool,
    /// Regularizer and constraint of `kernel`, `recurrent_kernel`, `bias` (and the peepholes,
    /// which follow the kernel's, as in TensorFlow's `PeepholeLSTMCell`).
    rules: [(Option<Regularizer>, Option<Constraint>); 3],
    activity_regularizer: Option<Regularizer>,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    stateful: bool,
}

/// Declares one recurrent class: the arguments all three share, plus the class's own
/// (`$extra`), and how they become an [`Rnn`] (`|c| (cell, recurrent_activation,
/// unit_forget_bias)`).
macro_rules! recurrent_class {
    (
        $(#[$m:meta])*
        $t:ident($class:literal),
        { $($extra:tt)* },
        |$c:ident| $own:expr
    ) => {
        declare_layer! {
            $(#[$m])*
            pub struct $t($class) {
                new(units: usize),
                /// The candidate's activation (and, for the LSTM, the cell output's).
                activation: Activation = Activation::Tanh,
                $($extra)*
                /// Add learned biases.
                use_bias: bool = true,
                kernel_initializer: Initializer = Initializer::GlorotUniform,
                recurrent_initializer: Initializer = Initializer::Orthogonal { gain: 1.0 },
                bias_initializer: Initializer = Initializer::Zeros,
                /// A penalty on the input kernel added to the loss.
                kernel_regularizer: Option<Regularizer> = None,
                /// A penalty on the recurrent kernel added to the loss.
                recurrent_regularizer: Option<Regularizer> = None,
                /// A penalty on the bias added to the loss.
                bias_regularizer: Option<Regularizer> = None,
                /// A penalty on the layer's output, divided by the batch size.
                activity_regularizer: Option<Regularizer> = None,
                /// A projection of the input kernel after every optimizer step.
                kernel_constraint: Option<Constraint> = None,
                /// A projection of the recurrent kernel after every optimizer step.
                recurrent_constraint: Option<Constraint> = None,
                /// A projection of the bias after every optimizer step.
                bias_constraint: Option<Constraint> = None,
                /// The fraction of input features dropped in training: one mask per sequence,
                /// the same at every step.
                dropout: f64 = 0.0,
                /// The fraction of the state's units dropped where they meet the recurrent
                /// kernel in training: one mask per sequence, the same at every step.
                recurrent_dropout: f64 = 0.0,
                /// Return every step's output, `[timesteps, units]`, not only the last.
                return_sequences: bool = false,
                /// Also return the final states (Keras `return_state`): the outputs are the
                /// output, then `h` (and `c` for the LSTM), each `[units]`. Called in the
                /// functional API with `Functional::call_outputs`.
                return_state: bool = false,
                /// Run the sequence last step first (the returned sequence is in that order).
                go_backwards: bool = false,
                /// Carry each sequence's final state into the same row of the next batch
                /// (truncated back-propagation through time) until `reset_states()`; the batch
                /// size must then stay the same, as in Keras.
                stateful: bool = false,
            }
        }

        impl $t {
            fn rnn(&self) -> Rnn {
                let $c = self;
                let (cell, recurrent_activation, unit_forget_bias): (RecurrentCell, Activation, bool) = $own;
                Rnn {
                    class: $class,
                    cell,
                    units: self.units,
                    activation: self.activation,
                    recurrent_activation,
                    use_bias: self.use_bias,
                    kernel_initializer: self.kernel_initializer.clone(),
                    recurrent_initializer: self.recurrent_initializer.clone(),
                    bias_initializer: self.bias_initializer.clone(),
                    unit_forget_bias,
                    rules: [
                        (self.kernel_regularizer, self.kernel_constraint),
                        (self.recurrent_regularizer, self.recurrent_constraint),
                        (self.bias_regularizer, self.bias_constraint),
                    ],
                    activity_regularizer: self.activity_regularizer,
                    dropout: self.dropout,
                    recurrent_dropout: self.recurrent_dropout,
                    return_sequences: self.return_sequences,
                    return_state: self.return_state,
                    go_backwards: self.go_backwards,
                    stateful: self.stateful,
                }
            }
        }

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
            fn build_many(&self, name: String, inputs: &[Vec<usize>], rng: &mut Rng) -> Result<Box<dyn Layer>> {
                let config = named_config(self.args(), Self::CLASS, &name);
                Ok(Box::new(self.rnn().build(config, name, inputs, rng)?))
            }
        }
    };
}

recurrent_class! {
    /// Keras `SimpleRNN`: `h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias)`.
    /// Weights: `kernel` `[features, units]`, `recurrent_kernel` `[units, units]`, `bias` `[units]`.
    SimpleRNN("SimpleRNN"),
    {},
    |_c| (RecurrentCell::SimpleRnn, Activation::Sigmoid, false)
}

recurrent_class! {
    /// Keras `LSTM`, gates in Keras' order `i, f, c, o`. Weights: `kernel` `[features, 4 units]`,
    /// `recurrent_kernel` `[units, 4 units]`, `bias` `[4 units]`.
    ///
    /// With `peephole`, the gates also see the cell state, as in Gers & Schmidhuber (2000) and
    /// TensorFlow's `PeepholeLSTMCell`: the input and forget gates `c_{t-1}`, the output gate
    /// `c_t`, each through a per-unit weight (`peephole_kernel` `[3, units]`, rows `i, f, o`).
    LSTM("LSTM"),
    {
        /// The gates' activation.
        recurrent_activation: Activation = Activation::Sigmoid,
        /// Start the forget gate's bias at 1 (Jozefowicz et al. 2015), whatever `bias_initializer`.
        unit_forget_bias: bool = true,
        /// Connect the cell state to the gates (not in Keras 3; TensorFlow's `PeepholeLSTMCell`).
        peephole: bool = false,
    },
    |c| (RecurrentCell::Lstm { peephole: c.peephole }, c.recurrent_activation, c.unit_forget_bias)
}

recurrent_class! {
    /// Keras `GRU`, gates in Keras' order `z, r, h`. Weights: `kernel` `[features, 3 units]`,
    /// `recurrent_kernel` `[units, 3 units]`, `bias` `[2, 3 units]` (input and recurrent biases)
    /// with `reset_after`, else `[3 units]`.
    GRU("GRU"),
    {
        /// The gates' activation.
        recurrent_activation: Activation = Activation::Sigmoid,
        /// Apply the reset gate after the recurrent product (Keras 3's default, cuDNN's form);
        /// false applies it to the state before.
        reset_after: bool = true,
    },
    |c| (RecurrentCell::Gru { reset_after: c.reset_after }, c.recurrent_activation, false)
}

/// The checks every recurrent class shares (these and `ConvLSTM2D`): dropout rates in [0, 1)
/// and elementwise activations.
pub(crate) fn check_recurrent_args(
    class: &str,
    (dropout, recurrent_dropout): (f64, f64),
    (activation, recurrent_activation): (Activation, Activation),
) -> Result<()> {
    for (what, v) in [("dropout", dropout), ("recurrent_dropout", recurrent_dropout)] {
        if !(0.0..1.0).contains(&v) {
            return Err(Error::invalid(format!("{class}: {what} must be a float in the range [0, 1), got {v}")));
        }
    }
    for (what, a) in [("activation", activation), ("recurrent_activation", recurrent_activation)] {
        if !a.is_elementwise() {
            return Err(Error::invalid(format!("{class}: {what} must be elementwise, got {:?}", a.name())));
        }
    }
    Ok(())
}

/// An LSTM bias `[4 units]`, gates `i, f, c, o`: with `unit_forget_bias`, Keras' init for `i`,
/// ones for `f`, its init for `c` and `o`.
pub(crate) fn lstm_bias(init: &Initializer, units: usize, unit_forget_bias: bool, rng: &mut Rng) -> Tensor {
    if !unit_forget_bias {
        return init.init(&[4 * units], rng);
    }
    let i = init.init(&[units], rng);
    let co = init.init(&[2 * units], rng);
    Tensor::concat(&[&i, &Tensor::ones([units]), &co], 0)
}

/// Panics when a stateful layer's carried states were made for batches of `carried`, not `nb`.
pub(crate) fn check_carried_batch(name: &str, class: &str, carried: usize, nb: usize) {
    assert!(
        carried == nb,
        "{name} ({class}): a stateful layer carries the states of batches of {carried}, got a batch of {nb}; \
         keep the batch size fixed (as Keras requires) or call reset_states() first"
    );
}

impl Rnn {
    fn validate(&self) -> Result<()> {
        let class = self.class;
        if self.units == 0 {
            return Err(Error::invalid(format!("{class}: units must be a positive integer, got 0")));
        }
        check_recurrent_args(
            class,
            (self.dropout, self.recurrent_dropout),
            (self.activation, self.recurrent_activation),
        )
    }

    fn build(&self, config: Value, name: String, inputs: &[Vec<usize>], rng: &mut Rng) -> Result<RnnLayer> {
        self.validate()?;
        let class = self.class;
        let states = self.cell.states();
        let input = &inputs[0];
        let [steps, features] = input[..] else {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {class} expects [timesteps, features], got shape {input:?}"
            )));
        };
        if steps == 0 || features == 0 {
            return Err(Error::shape(format!("Input 0 of layer {name} is incompatible: {class} got shape {input:?}")));
        }
        if inputs.len() != 1 && inputs.len() != 1 + states {
            return Err(Error::shape(format!(
                "{name} ({class}): expects the sequence and {states} initial state(s), got {} inputs",
                inputs.len()
            )));
        }
        for (i, s) in inputs.iter().enumerate().skip(1) {
            if s[..] != [self.units] {
                return Err(Error::shape(format!(
                    "Input {i} of layer {name} is incompatible: an initial state of {class} must be [{}], got {s:?}",
                    self.units
                )));
            }
        }
        let (u, g) = (self.units, self.cell.gates());
        let with_rules = |mut p: Param, k: usize| {
            (p.regularizer, p.constraint) = self.rules[k];
            p
        };
        let mut params = vec![
            with_rules(Param::trainable("kernel", self.kernel_initializer.init(&[features, g * u], rng)), 0),
            with_rules(Param::trainable("recurrent_kernel", self.recurrent_initializer.init(&[u, g * u], rng)), 1),
        ];
        if self.use_bias {
            let bias = match self.cell {
                RecurrentCell::Gru { reset_after: true } => self.bias_initializer.init(&[2, g * u], rng),
                RecurrentCell::Lstm { .. } => lstm_bias(&self.bias_initializer, u, self.unit_forget_bias, rng),
                _ => self.bias_initializer.init(&[g * u], rng),
            };
            params.push(with_rules(Param::trainable("bias", bias), 2));
        }
        let peephole = matches!(self.cell, RecurrentCell::Lstm { peephole: true });
        if peephole {
            let rows: Vec<Tensor> = (0..3).map(|_| self.kernel_initializer.init(&[u], rng)).collect();
            let p = Tensor::stack(&rows.iter().collect::<Vec<_>>(), 0);
            params.push(with_rules(Param::trainable("peephole_kernel", p), 0));
        }
        let out = if self.return_sequences { vec![steps, u] } else { vec![u] };
        Ok(RnnLayer { cfg: self.clone(), config, name, params, out, state: vec![u], activity: None, carried: None })
    }
}

/// A built [`SimpleRNN`], [`LSTM`] or [`GRU`].
#[derive(Clone)]
pub struct RnnLayer {
    cfg: Rnn,
    config: Value,
    name: String,
    params: Vec<Param>,
    out: Vec<usize>,
    /// The shape of each final state, `[units]`.
    state: Vec<usize>,
    activity: Option<Tensor>,
    /// A stateful layer's final states of the last call, detached.
    carried: Option<Vec<Tensor>>,
}

impl RnnLayer {
    /// The weight `name` (`bias`), also when a wrapper prefixed it (`forward/bias`).
    fn param(&self, name: &str) -> Option<&Tensor> {
        self.params.iter().find(|p| p.name.rsplit('/').next() == Some(name)).map(|p| &p.value)
    }

    /// The forward pass on the sequence `x`, or (`table`) on the rows `x` of an embedding table:
    /// the output, then the final states.
    fn run(
        &mut self,
        x: &Tensor,
        table: Option<&Tensor>,
        states: &[Tensor],
        mask: Option<&Tensor>,
        ctx: &mut Ctx,
    ) -> Vec<Tensor> {
        let cfg = &self.cfg;
        let want = if table.is_some() { 2 } else { 3 };
        assert!(
            x.rank() == want,
            "{} ({}): expects (batch, timesteps{}), got {:?}",
            self.name,
            cfg.class,
            if table.is_some() { "" } else { ", features" },
            x.shape()
        );
        let nb = x.dims()[0];
        let carried;
        let states = match &self.carried {
            Some(c) if cfg.stateful && states.is_empty() => {
                check_carried_batch(&self.name, cfg.class, c[0].dims()[0], nb);
                carried = c.clone();
                &carried[..]
            }
            _ => states,
        };
        let drop = |rate: f64, shape: &[usize], rng: &mut Rng| {
            (ctx.training && rate > 0.0).then(|| Tensor::ones(shape).to_dtype(x.dtype()).dropout(rate, rng))
        };
        let input_mask = match table {
            None => drop(cfg.dropout, &[nb, 1, x.dims()[2]], ctx.rng),
            Some(_) => None,
        };
        let rec_mask = drop(cfg.recurrent_dropout, &[nb, cfg.units], ctx.rng);
        let x = match &input_mask {
            Some(m) => x.mul(m),
            None => x.clone(),
        };
        let inp = RecurrentInputs {
            bias: self.param("bias"),
            peephole: self.param("peephole_kernel"),
            initial_state: states,
            mask,
            recurrent_mask: rec_mask.as_ref(),
        };
        let o = RecurrentOpts {
            cell: cfg.cell,
            activation: cfg.activation,
            recurrent_activation: cfg.recurrent_activation,
            return_sequences: cfg.return_sequences,
            go_backwards: cfg.go_backwards,
        };
        let (w, u) = (&self.params[0].value, &self.params[1].value);
        let outs = match table {
            Some(t) => Tensor::recurrent_embedded(t, &x, w, u, inp, o),
            None => x.recurrent(w, u, inp, o),
        };
        if cfg.stateful {
            self.carried = Some(outs[1..].iter().map(Tensor::detach).collect());
        }
        self.activity = cfg.activity_regularizer.map(|r| r.penalty(&outs[0]).mul_scalar(1.0 / nb.max(1) as f64));
        outs
    }

    /// What the layer returns of `run`'s tensors: the output, and the states with `return_state`.
    fn returned(&self, mut outs: Vec<Tensor>) -> Vec<Tensor> {
        if !self.cfg.return_state {
            outs.truncate(1);
        }
        outs
    }
}

impl Layer for RnnLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        // A stateful layer's carried states belong to one sequence of batches.
        (!self.cfg.stateful).then(|| Box::new(self.clone()) as Box<dyn Layer>)
    }
    fn reset_states(&mut self) {
        self.carried = None;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        self.cfg.class
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn output_shapes(&self) -> Vec<&[usize]> {
        let states = if self.cfg.return_state { self.cfg.cell.states() } else { 0 };
        std::iter::once(&self.out[..]).chain((0..states).map(|_| &self.state[..])).collect()
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        self.run(x, None, &[], None, ctx).swap_remove(0)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        self.run(&xs[0], None, &xs[1..], None, ctx).swap_remove(0)
    }
    fn forward_masked(&mut self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        self.run(x, None, &[], mask, ctx).swap_remove(0)
    }
    fn forward_outputs(&mut self, xs: &[Tensor], mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        let outs = self.run(&xs[0], None, &xs[1..], mask, ctx);
        self.returned(outs)
    }
    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Option<Tensor> {
        mask.filter(|_| self.cfg.return_sequences).cloned()
    }
    fn forward_embedded(
        &mut self,
        ids: &Tensor,
        table: &Tensor,
        mask: Option<&Tensor>,
        ctx: &mut Ctx,
    ) -> Option<Tensor> {
        // Input dropout masks the embedded sequence itself, so it keeps the two layers apart.
        let dropping = ctx.training && self.cfg.dropout > 0.0;
        (!dropping && !self.cfg.return_state && ids.rank() == 2)
            .then(|| self.run(ids, Some(table), &[], mask, ctx).swap_remove(0))
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        let weights = self.params.iter().filter_map(|p| p.regularizer.map(|r| r.penalty(&p.value)));
        weights.chain(self.activity.take()).reduce(|a, b| a.add(&b))
    }
    fn params(&self) -> Vec<&Param> {
        self.params.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.params.iter_mut().collect()
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
}

/// A recurrent layer as an argument of another (`Bidirectional`'s `layer`): its config with
/// `class_name` (a spec may write `class`).
#[derive(Clone, Debug)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecurrentLayer {
    SimpleRNN(SimpleRNN),
    LSTM(LSTM),
    GRU(GRU),
}

impl RecurrentLayer {
    fn rnn(&self) -> Rnn {
        match self {
            RecurrentLayer::SimpleRNN(c) => c.rnn(),
            RecurrentLayer::LSTM(c) => c.rnn(),
            RecurrentLayer::GRU(c) => c.rnn(),
        }
    }
}

macro_rules! recurrent_arg {
    ($($t:ident),*) => {
        $(impl super::declare::ArgInto<RecurrentLayer> for $t {
            fn arg_into(self) -> RecurrentLayer {
                RecurrentLayer::$t(self)
            }
        })*
        impl super::declare::ArgValue for RecurrentLayer {
            fn to_json(&self) -> Value {
                match self {
                    $(RecurrentLayer::$t(c) => named_config(c.args(), $t::CLASS, c.name.as_deref().unwrap_or_default()),)*
                }
            }
            fn from_json(v: &Value) -> std::result::Result<Self, String> {
                let class = v.get("class_name").or_else(|| v.get("class")).and_then(Value::as_str).unwrap_or_default();
                let name = v.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
                match class {
                    $(stringify!($t) => Ok(RecurrentLayer::$t($t::from_args(v).map_err(|e| e.message)?.with_name(name))),)*
                    other => Err(format!("must be a SimpleRNN, LSTM or GRU layer, got {other:?}")),
                }
            }
        }
    };
}
recurrent_arg!(SimpleRNN, LSTM, GRU);

declare_layer! {
    /// Keras `Bidirectional`: the recurrent `layer` run forwards and, as a copy with its own
    /// weights, backwards (`go_backwards` flipped), their outputs combined by `merge_mode`. With
    /// `return_sequences` the backward outputs are put back in time order first. Called on the
    /// sequence and initial states, the states are split in halves: the forward layer's, then the
    /// backward layer's (Keras' `initial_state`). Weights: each direction's, named
    /// `forward/kernel`, ..., `backward/kernel`, ...
    pub struct Bidirectional("Bidirectional") {
        new(layer: RecurrentLayer),
        /// `concat` (the last axis doubles), `sum`, `mul`, `ave`, or `none`: the two directions'
        /// outputs returned apart (two outputs, called with `Functional::call_outputs`).
        merge_mode: String = "concat".to_string(),
    }
}

/// How [`Bidirectional`] combines its two directions.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Merge {
    Concat,
    Sum,
    Mul,
    Ave,
    /// Keras `merge_mode=None`: both outputs returned.
    Apart,
}

impl LayerConfig for Bidirectional {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        self.build_many(name, &[input.to_vec()], rng)
    }
    fn build_many(&self, name: String, inputs: &[Vec<usize>], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let merge = match self.merge_mode.as_str() {
            "concat" => Merge::Concat,
            "sum" => Merge::Sum,
            "mul" => Merge::Mul,
            "ave" => Merge::Ave,
            "none" => Merge::Apart,
            other => {
                return Err(Error::invalid(format!(
                    "Bidirectional: merge_mode must be \"concat\", \"sum\", \"mul\", \"ave\" or \"none\", got {other:?}"
                )))
            }
        };
        let inner = self.layer.rnn();
        let states = inner.cell.states();
        if inputs.len() != 1 && inputs.len() != 1 + 2 * states {
            return Err(Error::shape(format!(
                "{name} (Bidirectional): expects the sequence and {} initial states (each direction's {states}), got {} inputs",
                2 * states,
                inputs.len()
            )));
        }
        let half = |k: usize| {
            let mut v = vec![inputs[0].clone()];
            if inputs.len() > 1 {
                v.extend(inputs[1 + k * states..1 + (k + 1) * states].iter().cloned());
            }
            v
        };
        let mut forward = inner.build(Value::Null, format!("{name}/forward"), &half(0), rng)?;
        let mut back = inner.clone();
        back.go_backwards = !back.go_backwards;
        let mut backward = back.build(Value::Null, format!("{name}/backward"), &half(1), rng)?;
        for (layer, dir) in [(&mut forward, "forward"), (&mut backward, "backward")] {
            for p in &mut layer.params {
                p.name = direction_name(dir, p.name);
            }
        }
        let mut out = forward.out.clone();
        if merge == Merge::Concat {
            *out.last_mut().expect("a recurrent output has a units axis") *= 2;
        }
        let config = named_config(self.args(), Self::CLASS, &name);
        Ok(Box::new(BidirectionalLayer { config, name, forward, backward, merge, states, out }))
    }
}

/// `forward/kernel` and the like: the two directions' weights under one layer.
fn direction_name(dir: &str, weight: &str) -> &'static str {
    const NAMES: [[&str; 4]; 2] = [
        ["forward/kernel", "forward/recurrent_kernel", "forward/bias", "forward/peephole_kernel"],
        ["backward/kernel", "backward/recurrent_kernel", "backward/bias", "backward/peephole_kernel"],
    ];
    let d = usize::from(dir == "backward");
    let w = ["kernel", "recurrent_kernel", "bias", "peephole_kernel"]
        .iter()
        .position(|n| *n == weight)
        .expect("a recurrent layer's weights are kernel, recurrent_kernel, bias and peephole_kernel");
    NAMES[d][w]
}

/// A built [`Bidirectional`].
#[derive(Clone)]
pub struct BidirectionalLayer {
    config: Value,
    name: String,
    forward: RnnLayer,
    backward: RnnLayer,
    merge: Merge,
    states: usize,
    out: Vec<usize>,
}

impl BidirectionalLayer {
    /// Every output: the merged output (or both, with `merge_mode="none"`), then with
    /// `return_state` the forward layer's final states and the backward layer's.
    fn run(&mut self, xs: &[Tensor], mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        let s = self.states;
        let (fs, bs) = if xs.len() > 1 { (&xs[1..1 + s], &xs[1 + s..1 + 2 * s]) } else { (&xs[..0], &xs[..0]) };
        let fa = self.forward.run(&xs[0], None, fs, mask, ctx);
        let fb = self.backward.run(&xs[0], None, bs, mask, ctx);
        let (a, mut b) = (&fa[0], fb[0].clone());
        if self.forward.cfg.return_sequences {
            // Back in time order.
            let t = b.dims()[1];
            b = b.index_select(1, &(0..t).rev().collect::<Vec<_>>());
        }
        let mut outs = match self.merge {
            Merge::Concat => vec![Tensor::concat(&[a, &b], -1)],
            Merge::Sum => vec![a.add(&b)],
            Merge::Mul => vec![a.mul(&b)],
            Merge::Ave => vec![a.add(&b).mul_scalar(0.5)],
            Merge::Apart => vec![a.clone(), b],
        };
        if self.forward.cfg.return_state {
            outs.extend(fa[1..].iter().chain(&fb[1..]).cloned());
        }
        outs
    }
}

impl Layer for BidirectionalLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        (!self.forward.cfg.stateful).then(|| Box::new(self.clone()) as Box<dyn Layer>)
    }
    fn reset_states(&mut self) {
        self.forward.reset_states();
        self.backward.reset_states();
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        Bidirectional::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn output_shapes(&self) -> Vec<&[usize]> {
        let outputs = if self.merge == Merge::Apart { 2 } else { 1 };
        let states = if self.forward.cfg.return_state { 2 * self.states } else { 0 };
        let state = &self.forward.state[..];
        (0..outputs).map(|_| &self.out[..]).chain((0..states).map(|_| state)).collect()
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        self.forward_many(std::slice::from_ref(x), ctx)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        self.run(xs, None, ctx).swap_remove(0)
    }
    fn forward_masked(&mut self, x: &Tensor, mask: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        self.run(std::slice::from_ref(x), mask, ctx).swap_remove(0)
    }
    fn forward_outputs(&mut self, xs: &[Tensor], mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        self.run(xs, mask, ctx)
    }
    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Option<Tensor> {
        mask.filter(|_| self.forward.cfg.return_sequences).cloned()
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        [self.forward.regularization_loss(), self.backward.regularization_loss()]
            .into_iter()
            .flatten()
            .reduce(|a, b| a.add(&b))
    }
    fn params(&self) -> Vec<&Param> {
        self.forward.params.iter().chain(&self.backward.params).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.forward.params.iter_mut().chain(&mut self.backward.params).collect()
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
}
