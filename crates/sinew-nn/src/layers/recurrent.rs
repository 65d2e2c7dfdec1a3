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
    go_backwards: bool,
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
                /// Run the sequence last step first (the returned sequence is in that order).
                go_backwards: bool = false,
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
                    go_backwards: self.go_backwards,
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

impl Rnn {
    fn validate(&self) -> Result<()> {
        let class = self.class;
        if self.units == 0 {
            return Err(Error::invalid(format!("{class}: units must be a positive integer, got 0")));
        }
        for (what, v) in [("dropout", self.dropout), ("recurrent_dropout", self.recurrent_dropout)] {
            if !(0.0..1.0).contains(&v) {
                return Err(Error::invalid(format!("{class}: {what} must be a float in the range [0, 1), got {v}")));
            }
        }
        for (what, a) in [("activation", self.activation), ("recurrent_activation", self.recurrent_activation)] {
            if !a.is_elementwise() {
                return Err(Error::invalid(format!("{class}: {what} must be elementwise, got {:?}", a.name())));
            }
        }
        Ok(())
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
                RecurrentCell::Lstm { .. } if self.unit_forget_bias => {
                    // Keras: bias_initializer for i, ones for f, bias_initializer for c and o.
                    let i = self.bias_initializer.init(&[u], rng);
                    let co = self.bias_initializer.init(&[2 * u], rng);
                    Tensor::concat(&[&i, &Tensor::ones([u]), &co], 0)
                }
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
        Ok(RnnLayer { cfg: self.clone(), config, name, params, out, activity: None })
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
    activity: Option<Tensor>,
}

impl RnnLayer {
    fn param(&self, name: &str) -> Option<&Tensor> {
        self.params.iter().find(|p| p.name == name).map(|p| &p.value)
    }

    /// The forward pass on the sequence `x`, or (`table`) on the rows `x` of an embedding table.
    fn run(&mut self, x: &Tensor, table: Option<&Tensor>, states: &[Tensor], ctx: &mut Ctx) -> Tensor {
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
            mask: None,
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
        let y = match table {
            Some(t) => Tensor::recurrent_embedded(t, &x, w, u, inp, o),
            None => x.recurrent(w, u, inp, o),
        }
        .swap_remove(0);
        self.activity = cfg.activity_regularizer.map(|r| r.penalty(&y).mul_scalar(1.0 / nb.max(1) as f64));
        y
    }
}

impl Layer for RnnLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
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
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        self.run(x, None, &[], ctx)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        self.run(&xs[0], None, &xs[1..], ctx)
    }
    fn forward_embedded(&mut self, ids: &Tensor, table: &Tensor, ctx: &mut Ctx) -> Option<Tensor> {
        // Input dropout masks the embedded sequence itself, so it keeps the two layers apart.
        let dropping = ctx.training && self.cfg.dropout > 0.0;
        (!dropping && ids.rank() == 2).then(|| self.run(ids, Some(table), &[], ctx))
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
