//! Keras `ConvLSTM2D`: an LSTM whose input and recurrent transformations are convolutions, over
//! sequences of images `[timesteps, rows, cols, channels]`.
//!
//! The input convolution of every timestep is one `conv2d` over the `batch * timesteps` frames
//! (the same hoisting as the dense recurrent layers' one input GEMM); each step then adds the
//! recurrent convolution of `h` (`same` padding, stride 1) and applies the LSTM gates. Unlike
//! [`crate::LSTM`], the time loop is a chain of recorded ops (a convolution, a slice per gate and
//! the elementwise gate arithmetic per step), so its gradient is the engine's checked ops'.

use super::conv::{window, Padding};
use super::declare::{declare_layer, named_config, per_axis, Declared};
use super::recurrent::{check_carried_batch, check_recurrent_args, lstm_bias};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{Conv2dOpts, Rng, Tensor};

declare_layer! {
    /// Keras `ConvLSTM2D` over `[timesteps, rows, cols, channels]`: gates `i, f, c, o` from
    /// `conv(x_t, kernel) + conv(h_{t-1}, recurrent_kernel) + bias`. Output: the last `h`,
    /// `[out_rows, out_cols, filters]`, or every step's with `return_sequences`. Weights: `kernel`
    /// `[kh, kw, channels, 4 filters]`, `recurrent_kernel` `[kh, kw, filters, 4 filters]`, `bias`
    /// `[4 filters]`. Called on several tensors, the others are the initial `h` and `c`.
    pub struct ConvLSTM2D("ConvLSTM2D") {
        new(filters: usize, kernel_size: Vec<usize>),
        /// The input convolution's step, per spatial axis (the recurrent one steps by 1).
        strides: Vec<usize> = vec![1; 2],
        /// The input convolution's padding, `valid` or `same` (the recurrent one is `same`).
        padding: Padding = Padding::Valid,
        /// The spacing of the input kernel's taps, per spatial axis.
        dilation_rate: Vec<usize> = vec![1; 2],
        /// The candidate's and the cell output's activation.
        activation: Activation = Activation::Tanh,
        /// The gates' activation.
        recurrent_activation: Activation = Activation::Sigmoid,
        /// Add learned biases.
        use_bias: bool = true,
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        recurrent_initializer: Initializer = Initializer::Orthogonal { gain: 1.0 },
        bias_initializer: Initializer = Initializer::Zeros,
        /// Start the forget gate's bias at 1, whatever `bias_initializer`.
        unit_forget_bias: bool = true,
        /// A penalty on the input kernel added to the loss.
        kernel_regularizer: Option<Regularizer> = None,
        /// A penalty on the recurrent kernel added to the loss.
        recurrent_regularizer: Option<Regularizer> = None,
        /// A penalty on the bias added to the loss.
        bias_regularizer: Option<Regularizer> = None,
        /// A projection of the input kernel after every optimizer step.
        kernel_constraint: Option<Constraint> = None,
        /// A projection of the recurrent kernel after every optimizer step.
        recurrent_constraint: Option<Constraint> = None,
        /// A projection of the bias after every optimizer step.
        bias_constraint: Option<Constraint> = None,
        /// The fraction of input values dropped in training: one mask per sequence.
        dropout: f64 = 0.0,
        /// The fraction of `h` dropped where it meets the recurrent kernel: one mask per sequence.
        recurrent_dropout: f64 = 0.0,
        /// Return every step's `h`, `[timesteps, out_rows, out_cols, filters]`.
        return_sequences: bool = false,
        /// Also return the final `h` and `c` (call with `Functional::call_outputs`).
        return_state: bool = false,
        /// Run the sequence last step first.
        go_backwards: bool = false,
        /// Carry each sequence's final states into the same row of the next batch until
        /// `reset_states()`.
        stateful: bool = false,
    }
}

impl LayerConfig for ConvLSTM2D {
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
        let class = Self::CLASS;
        let (k, s, d) = (per_axis(&self.kernel_size, 2), per_axis(&self.strides, 2), per_axis(&self.dilation_rate, 2));
        if self.filters == 0 || k.contains(&0) || s.contains(&0) || d.contains(&0) {
            return Err(Error::invalid(format!(
                "{class}: filters, kernel_size, strides and dilation_rate must be positive, got {}, {k:?}, {s:?}, {d:?}",
                self.filters
            )));
        }
        if s.iter().any(|&v| v > 1) && d.iter().any(|&v| v > 1) {
            return Err(Error::invalid(format!(
                "{class}: strides {s:?} and dilation_rate {d:?} cannot both be above 1 (as in Keras)"
            )));
        }
        if self.padding == Padding::Causal {
            return Err(Error::invalid(format!("{class}: padding must be \"valid\" or \"same\", got \"causal\"")));
        }
        check_recurrent_args(
            class,
            (self.dropout, self.recurrent_dropout),
            (self.activation, self.recurrent_activation),
        )?;
        let input = &inputs[0];
        let [steps, rows, cols, channels] = input[..] else {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: {class} expects [timesteps, rows, cols, channels], got shape {input:?}"
            )));
        };
        if input.contains(&0) {
            return Err(Error::shape(format!("Input 0 of layer {name} is incompatible: {class} got shape {input:?}")));
        }
        let geometry = [(rows, 0), (cols, 1)].map(|(len, a)| window(len, k[a], s[a], d[a], self.padding));
        let [Some((oh, top, bottom)), Some((ow, left, right))] = geometry else {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: frames of {rows}x{cols} are smaller than the {}x{} kernel",
                k[0], k[1]
            )));
        };
        let f = self.filters;
        let state = vec![oh, ow, f];
        if inputs.len() != 1 && inputs.len() != 3 {
            return Err(Error::shape(format!(
                "{name} ({class}): expects the sequence and 2 initial states (h and c), got {} inputs",
                inputs.len()
            )));
        }
        if let Some((i, s)) = inputs.iter().enumerate().skip(1).find(|(_, s)| **s != state) {
            return Err(Error::shape(format!(
                "Input {i} of layer {name} is incompatible: an initial state of {class} must be {state:?}, got {s:?}"
            )));
        }
        let rules = |mut p: Param, r: Option<Regularizer>, c: Option<Constraint>| {
            (p.regularizer, p.constraint) = (r, c);
            p
        };
        let mut params = vec![
            rules(
                Param::trainable("kernel", self.kernel_initializer.init(&[k[0], k[1], channels, 4 * f], rng)),
                self.kernel_regularizer,
                self.kernel_constraint,
            ),
            rules(
                Param::trainable("recurrent_kernel", self.recurrent_initializer.init(&[k[0], k[1], f, 4 * f], rng)),
                self.recurrent_regularizer,
                self.recurrent_constraint,
            ),
        ];
        if self.use_bias {
            let bias = lstm_bias(&self.bias_initializer, f, self.unit_forget_bias, rng);
            params.push(rules(Param::trainable("bias", bias), self.bias_regularizer, self.bias_constraint));
        }
        let input_conv =
            Conv2dOpts { stride: [s[0], s[1]], padding: [top, bottom, left, right], dilation: [d[0], d[1]], groups: 1 };
        // The recurrent convolution keeps the frame size: `same`, stride 1.
        let same = |len: usize, k: usize| window(len, k, 1, 1, Padding::Same).expect("same padding always fits");
        let ((_, rt, rb), (_, rl, rr)) = (same(oh, k[0]), same(ow, k[1]));
        let recurrent_conv = Conv2dOpts { padding: [rt, rb, rl, rr], ..Conv2dOpts::default() };
        let out = if self.return_sequences { vec![steps, oh, ow, f] } else { state.clone() };
        Ok(Box::new(ConvLstmLayer {
            cfg: self.clone(),
            config: named_config(self.args(), class, &name),
            name,
            params,
            input_conv,
            recurrent_conv,
            out,
            state,
            carried: None,
        }))
    }
}

/// A built [`ConvLSTM2D`].
#[derive(Clone)]
pub struct ConvLstmLayer {
    cfg: ConvLSTM2D,
    config: Value,
    name: String,
    params: Vec<Param>,
    input_conv: Conv2dOpts,
    recurrent_conv: Conv2dOpts,
    out: Vec<usize>,
    state: Vec<usize>,
    /// A stateful layer's final `h` and `c` of the last call, detached.
    carried: Option<[Tensor; 2]>,
}

impl ConvLstmLayer {
    /// The output, then the final `h` and `c`.
    fn run(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Vec<Tensor> {
        let cfg = &self.cfg;
        let x = &xs[0];
        assert!(
            x.rank() == 5,
            "{} (ConvLSTM2D): expects (batch, timesteps, rows, cols, channels), got {:?}",
            self.name,
            x.shape()
        );
        let d = x.dims().to_vec();
        let (nb, steps) = (d[0], d[1]);
        let f = cfg.filters;
        let [oh, ow, _] = self.state[..] else { unreachable!("the state is [rows, cols, filters]") };
        let (mut h, mut c) = match (&self.carried, xs.len()) {
            (_, 3) => (xs[1].clone(), xs[2].clone()),
            (Some([h, c]), _) if cfg.stateful => {
                check_carried_batch(&self.name, ConvLSTM2D::CLASS, h.dims()[0], nb);
                (h.clone(), c.clone())
            }
            _ => {
                let zeros = Tensor::zeros([nb, oh, ow, f]).to_dtype(x.dtype());
                (zeros.clone(), zeros)
            }
        };
        let training = ctx.training;
        let mut drop = |rate: f64, shape: &[usize]| {
            (training && rate > 0.0).then(|| Tensor::ones(shape).to_dtype(x.dtype()).dropout(rate, ctx.rng))
        };
        let x = match drop(cfg.dropout, &[nb, 1, d[2], d[3], d[4]]) {
            Some(m) => x.mul(&m),
            None => x.clone(),
        };
        let rec_mask = drop(cfg.recurrent_dropout, &[nb, oh, ow, f]);
        // Every step's input convolution (and bias) at once, over the batch's frames.
        let (w, u) = (&self.params[0].value, &self.params[1].value);
        let frames = x.reshape([nb * steps, d[2], d[3], d[4]]).conv2d(w, self.input_conv);
        let frames = match self.params.get(2) {
            Some(b) => frames.add(&b.value),
            None => frames,
        };
        let projected = frames.reshape([nb, steps, oh, ow, 4 * f]);
        let (act, gate) = (cfg.activation, cfg.recurrent_activation);
        let mut outputs = Vec::with_capacity(if cfg.return_sequences { steps } else { 0 });
        for k in 0..steps {
            let t = if cfg.go_backwards { steps - 1 - k } else { k };
            let h_in = match &rec_mask {
                Some(m) => h.mul(m),
                None => h.clone(),
            };
            let z = projected.narrow(1, t, 1).reshape([nb, oh, ow, 4 * f]).add(&h_in.conv2d(u, self.recurrent_conv));
            let g = z.chunk(4, -1);
            let (i, fg, cand, o) = (gate.apply(&g[0]), gate.apply(&g[1]), act.apply(&g[2]), gate.apply(&g[3]));
            c = fg.mul(&c).add(&i.mul(&cand));
            h = o.mul(&act.apply(&c));
            if cfg.return_sequences {
                outputs.push(h.clone());
            }
        }
        if cfg.stateful {
            self.carried = Some([h.detach(), c.detach()]);
        }
        let y = if cfg.return_sequences { Tensor::stack(&outputs.iter().collect::<Vec<_>>(), 1) } else { h.clone() };
        vec![y, h, c]
    }
}

impl Layer for ConvLstmLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        (!self.cfg.stateful).then(|| Box::new(self.clone()) as Box<dyn Layer>)
    }
    fn reset_states(&mut self) {
        self.carried = None;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        ConvLSTM2D::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn output_shapes(&self) -> Vec<&[usize]> {
        let states = if self.cfg.return_state { 2 } else { 0 };
        std::iter::once(&self.out[..]).chain((0..states).map(|_| &self.state[..])).collect()
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        self.run(std::slice::from_ref(x), ctx).swap_remove(0)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        self.run(xs, ctx).swap_remove(0)
    }
    fn forward_outputs(&mut self, xs: &[Tensor], _mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        let mut outs = self.run(xs, ctx);
        if !self.cfg.return_state {
            outs.truncate(1);
        }
        outs
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
