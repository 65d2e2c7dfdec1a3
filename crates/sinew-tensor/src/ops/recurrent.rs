//! The recurrent layers' time loop as one recorded op with one backward: [`Tensor::recurrent`].
//! The loops themselves are in [`crate::kernels::recurrent`].

use crate::activation::Activation;
use crate::autograd::{is_grad_enabled, record_multi, Op};
pub use crate::kernels::recurrent::Cell as RecurrentCell;
use crate::kernels::recurrent::{backward, forward, Dims, Dyn, Input, OutputGrads, Sig, Tanh, Tape, Weights};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;
use smallvec::SmallVec;

/// How a recurrent layer runs its cell over a sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentOpts {
    pub cell: RecurrentCell,
    /// Keras `activation`: the candidate (and, for the LSTM, the cell output); tanh by default.
    pub activation: Activation,
    /// Keras `recurrent_activation`: the gates (LSTM and GRU); sigmoid by default.
    pub recurrent_activation: Activation,
    /// Return the output of every step `(batch, time, units)`, not only the last `(batch, units)`.
    pub return_sequences: bool,
    /// Process the sequence last step first; the returned sequence is in processing order, as
    /// in Keras.
    pub go_backwards: bool,
}

impl RecurrentOpts {
    /// Keras' defaults for `cell`: tanh and sigmoid, the last output only, forwards.
    pub fn new(cell: RecurrentCell) -> Self {
        RecurrentOpts {
            cell,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            return_sequences: false,
            go_backwards: false,
        }
    }
}

/// The optional inputs of [`Tensor::recurrent`].
#[derive(Clone, Copy, Default)]
pub struct RecurrentInputs<'a> {
    /// `(gates · units)`, or `(2, 3 · units)` for a GRU with `reset_after` (input bias, then
    /// recurrent bias).
    pub bias: Option<&'a Tensor>,
    /// LSTM peephole weights `(3, units)`, rows `i, f, o`; required exactly when the cell has
    /// peepholes.
    pub peephole: Option<&'a Tensor>,
    /// `[h0]`, or `[h0, c0]` for the LSTM, each `(batch, units)`; zeros when empty.
    pub initial_state: &'a [Tensor],
    /// `(batch, time)` of 0 and 1 (Keras' mask): at a 0 the sequence's state is carried over
    /// and its output repeats the previous one. Not differentiated.
    pub mask: Option<&'a Tensor>,
    /// `(batch, units)`: recurrent dropout, multiplied into `h` wherever it meets the recurrent
    /// kernel, the same at every step (Keras' one mask per sequence). Not differentiated.
    pub recurrent_mask: Option<&'a Tensor>,
}

/// A tape of either dtype, kept by the backward closure.
enum AnyTape {
    F32(Tape<f32>),
    F64(Tape<f64>),
}

trait Taped: Element {
    fn wrap_tape(t: Tape<Self>) -> AnyTape;
    fn tape(t: &AnyTape) -> &Tape<Self>;
}

impl Taped for f32 {
    fn wrap_tape(t: Tape<f32>) -> AnyTape {
        AnyTape::F32(t)
    }
    fn tape(t: &AnyTape) -> &Tape<f32> {
        match t {
            AnyTape::F32(t) => t,
            AnyTape::F64(_) => unreachable!("recurrent: tape dtype"),
        }
    }
}

impl Taped for f64 {
    fn wrap_tape(t: Tape<f64>) -> AnyTape {
        AnyTape::F64(t)
    }
    fn tape(t: &AnyTape) -> &Tape<f64> {
        match t {
            AnyTape::F64(t) => t,
            AnyTape::F32(_) => unreachable!("recurrent: tape dtype"),
        }
    }
}

/// Runs `$body` with `$ra` and `$act` bound to the loop's activation types: the sigmoid/tanh pair
/// (the default of every Keras recurrent layer) as straight-line code, anything else dynamically.
macro_rules! with_funs {
    ($o:expr, |$ra:ident, $act:ident| $body:expr) => {
        match ($o.recurrent_activation, $o.activation) {
            (Activation::Sigmoid, Activation::Tanh) => {
                let ($ra, $act) = (Sig, Tanh);
                $body
            }
            (Activation::Sigmoid, a) => {
                let ($ra, $act) = (Sig, Dyn(a.unary()));
                $body
            }
            (r, a) => {
                let ($ra, $act) = (Dyn(r.unary()), Dyn(a.unary()));
                $body
            }
        }
    };
}

/// `(batch, time, width)` with the time axis reversed.
fn reverse_time<T: Copy>(v: &[T], nb: usize, nt: usize, w: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for b in 0..nb {
        for s in (0..nt).rev() {
            out.extend_from_slice(&v[(b * nt + s) * w..(b * nt + s + 1) * w]);
        }
    }
    out
}

fn check_shape(t: &Tensor, want: &[usize], what: &str, x: &Tensor, o: &RecurrentOpts) {
    assert!(
        t.dims() == want,
        "recurrent ({:?}): {what} has shape {:?}, expected {want:?} for input {:?}",
        o.cell,
        t.shape(),
        x.shape()
    );
    assert!(t.dtype() == x.dtype(), "recurrent: {what} is {:?}, the input {:?}", t.dtype(), x.dtype());
}

impl Tensor {
    /// Runs a recurrent cell over the sequence `self` `(batch, time, features)`: Keras'
    /// `SimpleRNN`, `LSTM` and `GRU` layers (and a peephole LSTM), with `kernel`
    /// `(features, gates · units)` and `recurrent_kernel` `(units, gates · units)` in Keras'
    /// layouts and gate orders. Returns `[output, h]`, or `[output, h, c]` for the LSTM: the
    /// output is the sequence of outputs or the last one (see [`RecurrentOpts`]), `h` and `c` the
    /// final states.
    ///
    /// One recorded op: the input projection of every step is one GEMM before the loop, each step
    /// runs `h·U` and one fused pass over the gates, and the backward pass runs only `dG·Uᵀ` and
    /// the elementwise work per step, then `dX`, `dW` and `dU` as one GEMM each.
    pub fn recurrent(
        &self,
        kernel: &Tensor,
        recurrent_kernel: &Tensor,
        inp: RecurrentInputs<'_>,
        o: RecurrentOpts,
    ) -> Vec<Tensor> {
        assert!(
            self.rank() == 3,
            "recurrent ({:?}): input must be (batch, time, features), got {:?}",
            o.cell,
            self.shape()
        );
        let dims = (self.dims()[0], self.dims()[1], self.dims()[2]);
        recurrent_op(Source::Sequence(self), dims, kernel, recurrent_kernel, inp, o)
    }

    /// An `Embedding` followed by a recurrent layer, as one op: [`Tensor::recurrent`] over the
    /// rows `ids` `(batch, time)` (integral values) of `table` `(vocabulary, features)`. The input
    /// projection is `table·W` gathered by id, and the backward scatters the gate gradients into
    /// it, so the embedded sequence (and its gradient) is never formed, and the two
    /// whole-sequence products with the input become products with the table. Same results as
    /// `table.index_select(0, ids).reshape(..).recurrent(..)`, up to rounding.
    pub fn recurrent_embedded(
        table: &Tensor,
        ids: &Tensor,
        kernel: &Tensor,
        recurrent_kernel: &Tensor,
        inp: RecurrentInputs<'_>,
        o: RecurrentOpts,
    ) -> Vec<Tensor> {
        let cell = o.cell;
        assert!(
            table.rank() == 2 && ids.rank() == 2,
            "recurrent_embedded ({cell:?}): table must be (vocabulary, features) and ids (batch, time), got {:?} and {:?}",
            table.shape(),
            ids.shape()
        );
        let vocab = table.dims()[0];
        let idx = ids.to_indices(vocab, &format!("recurrent_embedded ({cell:?}): ids"));
        let dims = (ids.dims()[0], ids.dims()[1], table.dims()[1]);
        recurrent_op(Source::Embedded { table, ids: idx }, dims, kernel, recurrent_kernel, inp, o)
    }
}

/// What a recurrent op reads.
enum Source<'a> {
    Sequence(&'a Tensor),
    Embedded { table: &'a Tensor, ids: Vec<usize> },
}

/// The input in processing order, kept by the backward closure.
enum Owned {
    Sequence(Tensor),
    Embedded(Vec<usize>),
}

impl Owned {
    /// The kernel's view; `first` is the op's first input (the table, when embedded).
    fn input<'a, T: Element>(&'a self, first: &'a Tensor) -> Input<'a, T> {
        match self {
            Owned::Sequence(x) => Input::Dense(x.data::<T>()),
            Owned::Embedded(ids) => Input::Embedded { table: first.data::<T>(), ids },
        }
    }
}

/// The op behind [`Tensor::recurrent`] and [`Tensor::recurrent_embedded`].
fn recurrent_op(
    src: Source<'_>,
    (nb, nt, nf): (usize, usize, usize),
    kernel: &Tensor,
    recurrent_kernel: &Tensor,
    inp: RecurrentInputs<'_>,
    o: RecurrentOpts,
) -> Vec<Tensor> {
    let cell = o.cell;
    let x: &Tensor = match &src {
        Source::Sequence(x) => x,
        Source::Embedded { table, .. } => table,
    };
    assert!(nt > 0, "recurrent ({cell:?}): the sequence has no timesteps: {:?}", x.shape());
    let g = cell.gates();
    assert!(
        recurrent_kernel.rank() == 2 && recurrent_kernel.dims()[1] == g * recurrent_kernel.dims()[0],
        "recurrent ({cell:?}): recurrent_kernel must be (units, {g} · units), got {:?}",
        recurrent_kernel.shape()
    );
    let nu = recurrent_kernel.dims()[0];
    let gu = g * nu;
    check_shape(kernel, &[nf, gu], "kernel", x, &o);
    check_shape(recurrent_kernel, &[nu, gu], "recurrent_kernel", x, &o);
    let reset_after = cell == RecurrentCell::Gru { reset_after: true };
    if let Some(b) = inp.bias {
        let want: &[usize] = if reset_after { &[2, gu] } else { &[gu] };
        check_shape(b, want, "bias", x, &o);
    }
    let peephole = cell == RecurrentCell::Lstm { peephole: true };
    assert!(
        inp.peephole.is_some() == peephole,
        "recurrent ({cell:?}): peephole weights are required exactly for a peephole LSTM"
    );
    if let Some(p) = inp.peephole {
        check_shape(p, &[3, nu], "peephole", x, &o);
    }
    assert!(
        inp.initial_state.is_empty() || inp.initial_state.len() == cell.states(),
        "recurrent ({cell:?}): expected {} initial state tensors, got {}",
        cell.states(),
        inp.initial_state.len()
    );
    for s in inp.initial_state {
        check_shape(s, &[nb, nu], "initial state", x, &o);
    }
    // Masks are data, not differentiated: any dtype, taken in the input's.
    let as_data = |m: &Tensor, want: &[usize], what: &str| {
        let m = m.detach().to_dtype(x.dtype());
        check_shape(&m, want, what, x, &o);
        m
    };
    let mask = inp.mask.map(|m| as_data(m, &[nb, nt], "mask"));
    let rec_mask = inp.recurrent_mask.map(|m| as_data(m, &[nb, nu], "recurrent_mask"));
    for (a, what) in [(o.activation, "activation"), (o.recurrent_activation, "recurrent_activation")] {
        assert!(a.is_elementwise(), "recurrent ({cell:?}): {what} must be elementwise, got {a:?}");
    }
    let d = Dims { batch: nb, time: nt, features: nf, units: nu };
    let h0 = inp.initial_state.first();
    let c0 = inp.initial_state.get(1);
    let mut inputs: SmallVec<[&Tensor; 7]> = SmallVec::new();
    inputs.extend([x, kernel, recurrent_kernel]);
    inputs.extend(inp.bias);
    inputs.extend(inp.peephole);
    inputs.extend(inp.initial_state);
    let recording = is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
    let seq = o.return_sequences;
    let y_shape = if seq { Shape::new(&[nb, nt, nu]) } else { Shape::new(&[nb, nu]) };
    let state_shape = Shape::new(&[nb, nu]);
    // Processing order: a reversed copy of the input (and mask) when going backwards.
    let rev = |t: &Tensor, w: usize| with_dtype!(t.dtype(), T => Tensor::from_storage(T::wrap(reverse_time(t.data::<T>(), nb, nt, w)), t.shape().clone()));
    // The input in processing order: a reversed copy (of the sequence, or of the ids).
    let src = match src {
        Source::Sequence(x) if o.go_backwards => Owned::Sequence(rev(x, nf)),
        Source::Sequence(x) => Owned::Sequence(x.clone()),
        Source::Embedded { ids, .. } => {
            Owned::Embedded(if o.go_backwards { reverse_time(&ids, nb, nt, 1) } else { ids })
        }
    };
    let mask = mask.map(|m| if o.go_backwards { rev(&m, 1) } else { m });
    let (outputs, tape) = with_dtype!(x.dtype(), T => {
        let w = Weights {
            w: kernel.data::<T>(),
            u: recurrent_kernel.data::<T>(),
            bias: inp.bias.map(|b| b.data::<T>()),
            peephole: inp.peephole.map(|p| p.data::<T>()),
            h0: h0.map(|t| t.data::<T>()),
            c0: c0.map(|t| t.data::<T>()),
            mask: mask.as_ref().map(|m| m.data::<T>()),
            rec_mask: rec_mask.as_ref().map(|m| m.data::<T>()),
        };
        let input = src.input::<T>(x);
        let fw = with_funs!(o, |ra, act| forward(cell, (ra, act), d, input, &w, seq, recording));
        let mut outs = vec![(T::wrap(fw.y), y_shape), (T::wrap(fw.h), state_shape.clone())];
        if cell.states() == 2 {
            outs.push((T::wrap(fw.c), state_shape.clone()));
        }
        (outs, fw.tape.map(T::wrap_tape))
    });
    if !recording {
        return outputs.into_iter().map(|(st, sh)| Tensor::from_storage(st, sh)).collect();
    }
    let tape = tape.expect("recording keeps the tape");
    let (has_bias, has_h0) = (inp.bias.is_some(), h0.is_some());
    record_multi(Op::Recurrent, outputs, &inputs, move |gys, ins| {
        let (kernel, rkernel) = (&ins[1], &ins[2]);
        let mut k = 3;
        let mut next = |present: bool| {
            present.then(|| {
                k += 1;
                &ins[k - 1]
            })
        };
        let bias = next(has_bias);
        let peep = next(peephole);
        let h0 = next(has_h0);
        let c0 = next(has_h0 && cell.states() == 2);
        with_dtype!(ins[0].dtype(), T => {
            let w = Weights {
                w: kernel.data::<T>(),
                u: rkernel.data::<T>(),
                bias: bias.map(|b| b.data::<T>()),
                peephole: peep.map(|p| p.data::<T>()),
                h0: None,
                c0: None,
                mask: mask.as_ref().map(|m| m.data::<T>()),
                rec_mask: rec_mask.as_ref().map(|m| m.data::<T>()),
            };
            let g = |i: usize| gys.get(i).and_then(|g| g.as_ref()).map(|g| g.data::<T>());
            let bw = with_funs!(o, |ra, act| backward(
                cell,
                (ra, act),
                d,
                src.input::<T>(&ins[0]),
                &w,
                T::tape(&tape),
                seq,
                OutputGrads { y: g(0), h: g(1), c: g(2) },
            ));
            let dx = match src {
                Owned::Sequence(_) if o.go_backwards => reverse_time(&bw.dx, nb, nt, nf),
                _ => bw.dx,
            };
            let wrap = |v: Vec<T>, t: &Tensor| t.requires_grad().then(|| Tensor::from_storage(T::wrap(v), t.shape().clone()));
            let mut out: crate::autograd::Grads = SmallVec::new();
            out.push(wrap(dx, &ins[0]));
            out.push(wrap(bw.dw, kernel));
            out.push(wrap(bw.du, rkernel));
            if let Some(b) = bias {
                out.push(wrap(bw.dbias, b));
            }
            if let Some(p) = peep {
                out.push(wrap(bw.dpeephole, p));
            }
            if let Some(h0) = h0 {
                out.push(wrap(bw.dh0, h0));
            }
            if let Some(c0) = c0 {
                out.push(wrap(bw.dc0, c0));
            }
            out
        })
    })
}
