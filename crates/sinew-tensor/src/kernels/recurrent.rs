//! The time loops of the recurrent cells (SimpleRNN, LSTM with optional peepholes, GRU in both of
//! Keras' forms), forward and backward, over plain slices.
//!
//! Layout: every per-step buffer is batch-major, `(batch, time, width)` like the input and the
//! output sequence, so the whole-sequence products need no transposes: the input projection
//! `X·W` before the loop, and `dX = dG·Wᵀ`, `dW = Xᵀ·dG`, `dU = Hᵀ·dG` after the backward loop,
//! are one GEMM each over `batch · time` rows. Inside the loop, step `s` of every sequence is a
//! strided row block (row stride `time · width`), which the GEMM reads and writes in place; the
//! only per-step products are `h·U` forward and `dG·Uᵀ` backward, as in oneDNN's and PyTorch's
//! CPU kernels. Between them, one fused elementwise pass per step computes the gates.
//!
//! The gate activations are stored for the backward pass; their pre-activations only when an
//! activation's derivative cannot be computed from its output (anything but linear, relu,
//! sigmoid and tanh).

use crate::kernels::gemm::{gemm, MatRef};
use crate::kernels::recurrent_cells::{gru_backward, gru_forward, lstm_backward, lstm_forward, simple_forward};
pub(crate) use crate::kernels::recurrent_cells::{Dyn, Fun, Sig, Tanh};
use crate::kernels::simd::vectorized;
use crate::runtime::{serial, threads_here};
use crate::storage::{give, overwritten, zeroed, Element};

/// Which recurrent cell, with Keras' gate order and weight layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `h = act(x·W + h·U + b)`.
    SimpleRnn,
    /// Gates `i, f, c, o` (kernel `(in, 4u)`). With `peephole`, the input and forget gates also
    /// see `c_{t-1}` and the output gate `c_t`, through per-unit weights `(3, u)` (rows `i, f, o`).
    Lstm { peephole: bool },
    /// Gates `z, r, h` (kernel `(in, 3u)`). `reset_after` (Keras' default, cuDNN's form) applies
    /// the reset gate after the recurrent product and has separate input and recurrent biases
    /// `(2, 3u)`; without it, the reset gate multiplies `h` before its product with `U_h`.
    Gru { reset_after: bool },
}

impl Cell {
    /// Gate blocks per unit: the kernel is `(in, gates · units)`.
    pub fn gates(self) -> usize {
        match self {
            Cell::SimpleRnn => 1,
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
        }
    }
    /// State tensors carried between steps (`h`, and `c` for the LSTM).
    pub fn states(self) -> usize {
        match self {
            Cell::Lstm { .. } => 2,
            _ => 1,
        }
    }
}

/// What the cell reads at each step.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a, T> {
    /// The sequence `(batch, time, features)`.
    Dense(&'a [T]),
    /// Rows `ids` `(batch, time)` of an embedding table `(vocabulary, features)`: the input
    /// projection is the table's projection `table·W` (one row per word, not per step) gathered
    /// by id, and the backward scatters the gate gradients into it, so neither the embedded
    /// sequence nor its gradient is ever formed.
    Embedded { table: &'a [T], ids: &'a [usize] },
}

/// Sizes: batch, time, input features, units.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub batch: usize,
    pub time: usize,
    pub features: usize,
    pub units: usize,
}

/// The weights and optional inputs of one sequence pass, as slices.
pub(crate) struct Weights<'a, T> {
    /// `(features, gates · units)`.
    pub w: &'a [T],
    /// `(units, gates · units)`.
    pub u: &'a [T],
    /// `gates · units`, or `(2, 3 · units)` for a GRU with `reset_after`.
    pub bias: Option<&'a [T]>,
    /// LSTM peepholes `(3, units)`: rows `i, f, o`.
    pub peephole: Option<&'a [T]>,
    /// Initial `h` and `c`, `(batch, units)` each; zeros when absent.
    pub h0: Option<&'a [T]>,
    pub c0: Option<&'a [T]>,
    /// `(batch, time)`: a zero skips the step for that sequence (state carried, output repeated).
    pub mask: Option<&'a [T]>,
    /// `(batch, units)`: recurrent dropout, multiplied into `h` before its product with `U`.
    pub rec_mask: Option<&'a [T]>,
}

impl<'a, T> Weights<'a, T> {
    /// The same weights with the per-sequence inputs cut to sequences `b0..b0 + n`.
    fn rows(&self, b0: usize, n: usize, nt: usize, nu: usize) -> Weights<'a, T> {
        let cut = |v: Option<&'a [T]>, per: usize| v.map(|v| &v[b0 * per..(b0 + n) * per]);
        Weights {
            w: self.w,
            u: self.u,
            bias: self.bias,
            peephole: self.peephole,
            h0: cut(self.h0, nu),
            c0: cut(self.c0, nu),
            mask: cut(self.mask, nt),
            rec_mask: cut(self.rec_mask, nu),
        }
    }
}

/// What the forward pass keeps for the backward pass. Buffers are `(batch, time, width)`.
pub(crate) struct Tape<T: Element> {
    /// Gate activations, width `gates · units` (GRU: `z, r, hh`), except at masked steps.
    pub gates: Vec<T>,
    /// Gate pre-activations, when a derivative needs them.
    pub pre: Option<Vec<T>>,
    /// The state `h` entering each step, width `units`.
    pub hs: Vec<T>,
    /// `hs` times the recurrent dropout mask (what multiplies `U`), when there is one.
    pub hp: Option<Vec<T>>,
    /// LSTM: `c` entering each step, the new `c`, and `act(c)`.
    pub cs: Vec<T>,
    pub c: Vec<T>,
    pub ac: Vec<T>,
    /// GRU: with `reset_after`, `hp·U_h + b_rec_h`; without, `r ⊙ hp`.
    pub rh: Vec<T>,
}

impl<T: Element> Drop for Tape<T> {
    /// The buffers go back to the pool: a training step needs the same sizes again.
    fn drop(&mut self) {
        let bufs = [&mut self.gates, &mut self.hs, &mut self.cs, &mut self.c, &mut self.ac, &mut self.rh];
        for b in bufs.into_iter().map(std::mem::take).chain(self.pre.take()).chain(self.hp.take()) {
            give(b);
        }
    }
}

/// The results of the forward pass.
pub(crate) struct Forward<T: Element> {
    /// `(batch, time, units)` with `sequences`, else the last output `(batch, units)`.
    pub y: Vec<T>,
    pub h: Vec<T>,
    pub c: Vec<T>,
    pub tape: Option<Tape<T>>,
}

fn rows<'a, T>(data: &'a [T], start: usize, n: usize, width: usize, rs: usize) -> MatRef<'a, T> {
    MatRef { data: &data[start..], rows: n, cols: width, rs, cs: 1 }
}

/// Runs the sequence `x` `(batch, time, features)` forward. With `keep`, returns the tape for
/// [`backward`].
pub(crate) fn forward<T: Element, RA: Fun, A: Fun>(
    cell: Cell,
    funs: (RA, A),
    d: Dims,
    x: Input<T>,
    p: &Weights<T>,
    sequences: bool,
    keep: bool,
) -> Forward<T> {
    let Dims { batch: nb, time: nt, features: nf, units: nu } = d;
    let gu = cell.gates() * nu;
    // Pre-activations of every gate: x·W + b (the input bias, for a GRU with reset_after).
    // Every element is written (the bias, or the GEMM without accumulation).
    let mut z = overwritten::<T>(nb * nt * gu);
    if let Some(b) = p.bias {
        for row in z.chunks_exact_mut(gu) {
            row.copy_from_slice(&b[..gu]);
        }
    }
    match x {
        Input::Dense(x) => {
            gemm(&mut z, gu, MatRef::row_major(x, nb * nt, nf), MatRef::row_major(p.w, nf, gu), p.bias.is_some())
        }
        Input::Embedded { table, ids } => {
            let vocab = table.len() / nf.max(1);
            let mut tw = overwritten::<T>(vocab * gu);
            gemm(&mut tw, gu, MatRef::row_major(table, vocab, nf), MatRef::row_major(p.w, nf, gu), false);
            // z holds the bias already when there is one.
            for (row, &id) in z.chunks_exact_mut(gu).zip(ids) {
                let w = &tw[id * gu..(id + 1) * gu];
                if p.bias.is_some() {
                    row.iter_mut().zip(w).for_each(|(v, w)| *v += *w);
                } else {
                    row.copy_from_slice(w);
                }
            }
            give(tw);
        }
    }
    let needs_pre = keep && (funs.0.needs_input() || funs.1.needs_input());
    let mut pre = if needs_pre { zeroed::<T>(nb * nt * gu) } else { Vec::new() };
    let mut hs = overwritten::<T>(nb * nt * nu);
    let mut hp = if p.rec_mask.is_some() { overwritten::<T>(nb * nt * nu) } else { Vec::new() };
    let lstm = matches!(cell, Cell::Lstm { .. });
    let per_step = |on: bool| if on && keep { zeroed::<T>(nb * nt * nu) } else { Vec::new() };
    let (mut cs, mut cbuf, mut ac) = (per_step(lstm), per_step(lstm), per_step(lstm));
    let gru = matches!(cell, Cell::Gru { .. });
    let mut rh = if gru { overwritten::<T>(nb * nt * nu) } else { Vec::new() };
    let mut h = p.h0.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec);
    let mut c = if lstm { p.c0.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec) } else { Vec::new() };
    let mut out = zeroed::<T>(nb * nu);
    let mut y = if sequences { overwritten::<T>(nb * nt * nu) } else { Vec::new() };
    // The time loop of each batch chunk is independent of the others: one task per chunk, each
    // with its own single-threaded GEMMs, so the threads never meet inside the loop.
    let counts = batch_chunks(nb, 2 * nt * nu * gu, std::mem::size_of_val(p.u));
    let (st, sb) = (nt * gu, nt * nu);
    let mut zs = split_rows(&mut z, &counts, st).into_iter();
    let mut pres = split_rows(&mut pre, &counts, st).into_iter();
    let mut hss = split_rows(&mut hs, &counts, sb).into_iter();
    let mut hps = split_rows(&mut hp, &counts, sb).into_iter();
    let mut css = split_rows(&mut cs, &counts, sb).into_iter();
    let mut cbufs = split_rows(&mut cbuf, &counts, sb).into_iter();
    let mut acs = split_rows(&mut ac, &counts, sb).into_iter();
    let mut rhs = split_rows(&mut rh, &counts, sb).into_iter();
    let mut hh = split_rows(&mut h, &counts, nu).into_iter();
    let mut cc = split_rows(&mut c, &counts, nu).into_iter();
    let mut outs = split_rows(&mut out, &counts, nu).into_iter();
    let mut ys = split_rows(&mut y, &counts, sb).into_iter();
    let mut jobs = Vec::with_capacity(counts.len());
    let mut b0 = 0;
    for &n in &counts {
        let rows = FwdRows {
            z: zs.next().unwrap_or_default(),
            pre: pres.next().filter(|v| !v.is_empty()),
            hs: hss.next().unwrap_or_default(),
            hp: hps.next().filter(|v| !v.is_empty()),
            cs: css.next().unwrap_or_default(),
            cbuf: cbufs.next().unwrap_or_default(),
            ac: acs.next().unwrap_or_default(),
            rh: rhs.next().unwrap_or_default(),
            h: hh.next().unwrap_or_default(),
            c: cc.next().unwrap_or_default(),
            out: outs.next().unwrap_or_default(),
            y: ys.next().unwrap_or_default(),
        };
        jobs.push((Dims { batch: n, ..d }, p.rows(b0, n, nt, nu), rows));
        b0 += n;
    }
    in_chunks(jobs, |(d, p, rows)| forward_loop(cell, funs, d, &p, rows, sequences, keep));
    // z now holds the gate activations.
    let tape = Tape { gates: z, pre: needs_pre.then_some(pre), hs, hp: p.rec_mask.map(|_| hp), cs, c: cbuf, ac, rh };
    let tape = if keep { Some(tape) } else { None };
    let y = if sequences {
        give(out);
        y
    } else {
        out
    };
    Forward { y, h, c, tape }
}

/// How many sequences each task of the time loop takes: the batch split across the threads
/// when the loop's recurrent GEMMs (`flop_per_row` each sequence) are worth a task each and the
/// recurrent kernel (`u_bytes`) is small enough for every thread to stream all of it each step
/// from its own cache. A larger kernel stays unsplit, and each step's GEMM splits its columns
/// instead, so each thread reads half of it: at GRU(1024), 12 MiB, the batch split ran the
/// char-level step 20% slower.
fn batch_chunks(nb: usize, flop_per_row: usize, u_bytes: usize) -> Vec<usize> {
    let threads = threads_here();
    let worth = nb * flop_per_row >= 4_000_000 && u_bytes <= 2 << 20;
    let parts = if threads > 1 && nb >= 2 && worth { threads.min(nb) } else { 1 };
    (0..parts).map(|i| nb / parts + usize::from(i < nb % parts)).collect()
}

/// `v` cut into consecutive pieces of `counts[i] * per` elements; an empty `v` (a buffer this
/// pass does not use) gives empty pieces.
fn split_rows<'a, T>(v: &'a mut [T], counts: &[usize], per: usize) -> Vec<&'a mut [T]> {
    let mut rest = v;
    let mut out = Vec::with_capacity(counts.len());
    for &n in counts {
        if rest.is_empty() {
            out.push(Default::default());
            continue;
        }
        let (a, b) = std::mem::take(&mut rest).split_at_mut(n * per);
        out.push(a);
        rest = b;
    }
    out
}

/// Runs `f` on every job, one task each on the pool (the calling thread takes the first), each
/// with its kernels kept to its own thread.
fn in_chunks<J: Send>(jobs: Vec<J>, f: impl Fn(J) + Sync) {
    if jobs.len() == 1 {
        jobs.into_iter().for_each(f);
        return;
    }
    let f = &f;
    rayon::in_place_scope(|s| {
        let mut it = jobs.into_iter();
        let first = it.next();
        for j in it {
            s.spawn(move |_| serial(|| f(j)));
        }
        if let Some(j) = first {
            serial(|| f(j));
        }
    });
}

/// One batch chunk's rows of every per-sequence buffer of the forward loop (empty where unused).
struct FwdRows<'a, T> {
    z: &'a mut [T],
    pre: Option<&'a mut [T]>,
    hs: &'a mut [T],
    hp: Option<&'a mut [T]>,
    cs: &'a mut [T],
    cbuf: &'a mut [T],
    ac: &'a mut [T],
    rh: &'a mut [T],
    h: &'a mut [T],
    c: &'a mut [T],
    out: &'a mut [T],
    y: &'a mut [T],
}

/// The time loop over one batch chunk.
fn forward_loop<T: Element, RA: Fun, A: Fun>(
    cell: Cell,
    (ra, act): (RA, A),
    d: Dims,
    p: &Weights<T>,
    r: FwdRows<T>,
    sequences: bool,
    keep: bool,
) {
    let Dims { batch: nb, time: nt, units: nu, .. } = d;
    let gu = cell.gates() * nu;
    let (rs_g, rs_u) = (nt * gu, nt * nu);
    let FwdRows { z, mut pre, hs, mut hp, cs, cbuf, ac, rh, h, c, out, y } = r;
    let rec_bias = match (cell, p.bias) {
        (Cell::Gru { reset_after: true }, Some(b)) => Some(&b[gu..2 * gu]),
        _ => None,
    };
    // LSTM rows of c_t and act(c_t) when no tape keeps them.
    let (mut c_row, mut a_row) = (vec![T::ZERO; nu], vec![T::ZERO; nu]);
    // GRU scratch: h·U for one step.
    let mut hu = if matches!(cell, Cell::Gru { reset_after: true }) { zeroed::<T>(nb * gu) } else { Vec::new() };
    for s in 0..nt {
        // The state entering this step, and what multiplies U.
        for b in 0..nb {
            let o = (b * nt + s) * nu;
            hs[o..o + nu].copy_from_slice(&h[b * nu..(b + 1) * nu]);
            if let (Some(hp), Some(m)) = (hp.as_mut(), p.rec_mask) {
                let (dst, hb, mb) = (&mut hp[o..o + nu], &h[b * nu..(b + 1) * nu], &m[b * nu..(b + 1) * nu]);
                for j in 0..nu {
                    dst[j] = hb[j] * mb[j];
                }
            }
        }
        let hpv: &[T] = hp.as_deref().unwrap_or(hs);
        let a = rows(hpv, s * nu, nb, nu, rs_u);
        match cell {
            Cell::SimpleRnn | Cell::Lstm { .. } => {
                gemm(&mut z[s * gu..], rs_g, a, MatRef::row_major(p.u, nu, gu), true);
            }
            Cell::Gru { reset_after: true } => {
                gemm(&mut hu, gu, a, MatRef::row_major(p.u, nu, gu), false);
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let hub = &mut hu[b * gu..(b + 1) * gu];
                    if let Some(rb) = rec_bias {
                        for (v, bv) in hub.iter_mut().zip(rb) {
                            *v += *bv;
                        }
                    }
                    for (v, add) in z[o..o + 2 * nu].iter_mut().zip(&hub[..2 * nu]) {
                        *v += *add;
                    }
                    rh[ou..ou + nu].copy_from_slice(&hub[2 * nu..]);
                }
            }
            Cell::Gru { reset_after: false } => {
                let u_zr = MatRef { data: p.u, rows: nu, cols: 2 * nu, rs: gu, cs: 1 };
                gemm(&mut z[s * gu..], rs_g, a, u_zr, true);
                // r ⊙ hp, then its product with U_h.
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let (dst, zr, hb) = (&mut rh[ou..ou + nu], &z[o + nu..o + 2 * nu], &hpv[ou..ou + nu]);
                    for j in 0..nu {
                        dst[j] = ra.f(zr[j]) * hb[j];
                    }
                }
                let u_h = MatRef { data: &p.u[2 * nu..], rows: nu, cols: nu, rs: gu, cs: 1 };
                gemm(&mut z[s * gu + 2 * nu..], rs_g, rows(rh, s * nu, nb, nu, rs_u), u_h, true);
            }
        }
        vectorized(
            #[inline(always)]
            || {
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    if p.mask.is_some_and(|m| m[b * nt + s] == T::ZERO) {
                        // State carried; the output repeats the previous one.
                        continue;
                    }
                    let hb = &mut h[b * nu..(b + 1) * nu];
                    let zr = &mut z[o..o + gu];
                    let pre = pre.as_mut().map(|p| &mut p[o..o + gu]);
                    match cell {
                        Cell::SimpleRnn => simple_forward(act, zr, hb, pre),
                        Cell::Lstm { peephole } => {
                            let cb = &mut c[b * nu..(b + 1) * nu];
                            let (cn, a) = if keep {
                                cs[ou..ou + nu].copy_from_slice(cb);
                                (&mut cbuf[ou..ou + nu], &mut ac[ou..ou + nu])
                            } else {
                                (&mut c_row[..], &mut a_row[..])
                            };
                            let peep = if peephole { p.peephole } else { None };
                            lstm_forward((ra, act), zr, cb, hb, peep, (cn, a), pre);
                        }
                        Cell::Gru { reset_after } => gru_forward((ra, act), zr, &rh[ou..ou + nu], hb, reset_after, pre),
                    }
                    out[b * nu..(b + 1) * nu].copy_from_slice(hb);
                }
            },
        );
        if sequences {
            for b in 0..nb {
                let o = (b * nt + s) * nu;
                y[o..o + nu].copy_from_slice(&out[b * nu..(b + 1) * nu]);
            }
        }
    }
    give(hu);
}

/// Gradients of one sequence pass.
pub(crate) struct Backward<T> {
    /// Of the input sequence, or of the embedding table.
    pub dx: Vec<T>,
    pub dw: Vec<T>,
    pub du: Vec<T>,
    pub dbias: Vec<T>,
    pub dpeephole: Vec<T>,
    pub dh0: Vec<T>,
    pub dc0: Vec<T>,
}

/// The gradients reaching the op's outputs (`None` where the loss does not use one).
pub(crate) struct OutputGrads<'a, T> {
    pub y: Option<&'a [T]>,
    pub h: Option<&'a [T]>,
    pub c: Option<&'a [T]>,
}

/// Back-propagates through the time loop. `gy` is the gradient of the output (`(batch, time,
/// units)` with `sequences`, else `(batch, units)`), `gh` and `gc` of the final states.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Element, RA: Fun, A: Fun>(
    cell: Cell,
    funs: (RA, A),
    d: Dims,
    x: Input<T>,
    p: &Weights<T>,
    tape: &Tape<T>,
    sequences: bool,
    grads: OutputGrads<T>,
) -> Backward<T> {
    let OutputGrads { y: gy, h: gh, c: gc } = grads;
    let Dims { batch: nb, time: nt, features: nf, units: nu } = d;
    let gu = cell.gates() * nu;
    let reset_after = matches!(cell, Cell::Gru { reset_after: true });
    // Gradients of the gate pre-activations: on the input side (for dX, dW and the input bias),
    // and, where they differ (GRU with reset_after), on the recurrent side (for dU, dh and the
    // recurrent bias). Without a mask every row is written; with one, masked rows stay zero.
    let fresh = |n: usize| if p.mask.is_some() { zeroed::<T>(n) } else { overwritten::<T>(n) };
    let mut dgx = fresh(nb * nt * gu);
    let mut dgh = if reset_after { fresh(nb * nt * gu) } else { Vec::new() };
    let mut dh = gh.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec);
    let mut dc = match cell {
        Cell::Lstm { .. } => gc.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec),
        _ => Vec::new(),
    };
    let peep = matches!(cell, Cell::Lstm { peephole: true });
    // One task per batch chunk, as in the forward pass.
    let counts = batch_chunks(nb, 4 * nt * nu * gu, std::mem::size_of_val(p.u));
    let (st, sb) = (nt * gu, nt * nu);
    let mut dgxs = split_rows(&mut dgx, &counts, st).into_iter();
    let mut dghs = split_rows(&mut dgh, &counts, st).into_iter();
    let mut dhs = split_rows(&mut dh, &counts, nu).into_iter();
    let mut dcs = split_rows(&mut dc, &counts, nu).into_iter();
    let mut dpeeps: Vec<Vec<T>> = counts.iter().map(|_| zeroed::<T>(if peep { 3 * nu } else { 0 })).collect();
    let mut jobs = Vec::with_capacity(counts.len());
    let mut b0 = 0;
    for (&n, dpeep) in counts.iter().zip(dpeeps.iter_mut()) {
        let cut = |v, per| cut_rows(v, b0, n, per);
        let tape_rows = TapeRows {
            gates: cut(&tape.gates, st),
            pre: tape.pre.as_deref().map(|v| cut(v, st)),
            hs: cut(&tape.hs, sb),
            hp: tape.hp.as_deref().map(|v| cut(v, sb)),
            cs: cut(&tape.cs, sb),
            c: cut(&tape.c, sb),
            ac: cut(&tape.ac, sb),
            rh: cut(&tape.rh, sb),
        };
        let rows = BwdRows {
            gy: gy.map(|g| if sequences { cut(g, sb) } else { cut(g, nu) }),
            dgx: dgxs.next().unwrap_or_default(),
            dgh: dghs.next().unwrap_or_default(),
            dh: dhs.next().unwrap_or_default(),
            dc: dcs.next().unwrap_or_default(),
            dpeep,
        };
        jobs.push((Dims { batch: n, ..d }, p.rows(b0, n, nt, nu), tape_rows, rows));
        b0 += n;
    }
    // Uᵀ once, row-major: each step's dG·Uᵀ reads it contiguously. Through a transposed view
    // the GEMM repacked the strided operand every step, 2.6x slower at GRU(1024).
    let mut ut = overwritten::<T>(nu * gu);
    for (k, row) in p.u.chunks_exact(gu).enumerate() {
        for (j, v) in row.iter().enumerate() {
            ut[j * nu + k] = *v;
        }
    }
    in_chunks(jobs, |(d, p, t, rows)| backward_loop(cell, funs, d, &p, &ut, &t, rows, sequences));
    give(ut);
    let mut dpeep = dpeeps.pop().unwrap_or_default();
    for other in dpeeps {
        for (a, v) in dpeep.iter_mut().zip(&other) {
            *a += *v;
        }
        give(other);
    }
    // Whole-sequence products.
    let hpv: &[T] = tape.hp.as_deref().unwrap_or(&tape.hs);
    let mut dw = overwritten::<T>(nf * gu);
    let dx = match x {
        Input::Dense(x) => {
            let mut dx = overwritten::<T>(nb * nt * nf);
            gemm(&mut dx, nf, MatRef::row_major(&dgx, nb * nt, gu), MatRef::row_major(p.w, nf, gu).t(), false);
            gemm(&mut dw, gu, MatRef::row_major(x, nb * nt, nf).t(), MatRef::row_major(&dgx, nb * nt, gu), false);
            dx
        }
        Input::Embedded { table, ids } => {
            // The gradient of table·W, one row per word, then through the product.
            let vocab = table.len() / nf.max(1);
            let mut dtw = zeroed::<T>(vocab * gu);
            for (row, &id) in dgx.chunks_exact(gu).zip(ids) {
                for (d, g) in dtw[id * gu..(id + 1) * gu].iter_mut().zip(row) {
                    *d += *g;
                }
            }
            let mut dtable = overwritten::<T>(vocab * nf);
            gemm(&mut dtable, nf, MatRef::row_major(&dtw, vocab, gu), MatRef::row_major(p.w, nf, gu).t(), false);
            gemm(&mut dw, gu, MatRef::row_major(table, vocab, nf).t(), MatRef::row_major(&dtw, vocab, gu), false);
            give(dtw);
            dtable
        }
    };
    let mut du = overwritten::<T>(nu * gu);
    let hpm = MatRef::row_major(hpv, nb * nt, nu);
    match cell {
        Cell::Gru { reset_after: false } => {
            gemm(&mut du, gu, hpm.t(), MatRef { data: &dgx, rows: nb * nt, cols: 2 * nu, rs: gu, cs: 1 }, false);
            let dgh_h = MatRef { data: &dgx[2 * nu..], rows: nb * nt, cols: nu, rs: gu, cs: 1 };
            gemm(&mut du[2 * nu..], gu, MatRef::row_major(&tape.rh, nb * nt, nu).t(), dgh_h, false);
        }
        _ => {
            let dg = if reset_after { &dgh } else { &dgx };
            gemm(&mut du, gu, hpm.t(), MatRef::row_major(dg, nb * nt, gu), false);
        }
    }
    let col_sums = |m: &[T]| {
        let mut acc = zeroed::<T>(gu);
        for row in m.chunks_exact(gu) {
            for (a, v) in acc.iter_mut().zip(row) {
                *a += *v;
            }
        }
        acc
    };
    let mut dbias = Vec::new();
    if p.bias.is_some() {
        dbias = col_sums(&dgx);
        if reset_after {
            dbias.extend(col_sums(&dgh));
        }
    }
    give(dgx);
    give(dgh);
    Backward { dx, dw, du, dbias, dpeephole: dpeep, dh0: dh, dc0: dc }
}

/// Rows `b0..b0 + n` of a batch-major buffer with `per` elements a sequence (empty if `v` is).
fn cut_rows<T>(v: &[T], b0: usize, n: usize, per: usize) -> &[T] {
    if v.is_empty() {
        v
    } else {
        &v[b0 * per..(b0 + n) * per]
    }
}

/// One batch chunk's rows of the tape.
struct TapeRows<'a, T> {
    gates: &'a [T],
    pre: Option<&'a [T]>,
    hs: &'a [T],
    hp: Option<&'a [T]>,
    cs: &'a [T],
    c: &'a [T],
    ac: &'a [T],
    rh: &'a [T],
}

/// One batch chunk's rows of the output gradient and of what the backward loop writes.
struct BwdRows<'a, T> {
    gy: Option<&'a [T]>,
    dgx: &'a mut [T],
    dgh: &'a mut [T],
    /// In: the gradient of the final `h` (and `c`); out: of the initial state.
    dh: &'a mut [T],
    dc: &'a mut [T],
    /// This chunk's share of the peephole gradient.
    dpeep: &'a mut [T],
}

/// The backward time loop over one batch chunk; `ut` is the recurrent kernel transposed,
/// `(gates · units, units)`.
#[allow(clippy::too_many_arguments)]
fn backward_loop<T: Element, RA: Fun, A: Fun>(
    cell: Cell,
    (ra, act): (RA, A),
    d: Dims,
    p: &Weights<T>,
    ut: &[T],
    tape: &TapeRows<T>,
    r: BwdRows<T>,
    sequences: bool,
) {
    let Dims { batch: nb, time: nt, units: nu, .. } = d;
    let gu = cell.gates() * nu;
    let rs_g = nt * gu;
    let reset_after = matches!(cell, Cell::Gru { reset_after: true });
    let BwdRows { gy, dgx, dgh, dh, dc, dpeep } = r;
    // The gradient reaching the previous output through masked steps that repeated it.
    let mut dpo = zeroed::<T>(nb * nu);
    let mut dhp = zeroed::<T>(nb * nu);
    let mut drh = if matches!(cell, Cell::Gru { reset_after: false }) { zeroed::<T>(nb * nu) } else { Vec::new() };
    let hpv: &[T] = tape.hp.unwrap_or(tape.hs);
    let on = |b: usize, s: usize| p.mask.map_or(true, |m| m[b * nt + s] != T::ZERO);
    for s in (0..nt).rev() {
        vectorized(
            #[inline(always)]
            || {
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let dpob = &mut dpo[b * nu..(b + 1) * nu];
                    // The gradient of this step's output.
                    let g = match gy {
                        Some(gy) if sequences => Some(&gy[ou..ou + nu]),
                        Some(gy) if s + 1 == nt => Some(&gy[b * nu..(b + 1) * nu]),
                        _ => None,
                    };
                    if let Some(g) = g {
                        for j in 0..nu {
                            dpob[j] += g[j];
                        }
                    }
                    if !on(b, s) {
                        // The output repeated the previous one, whose gradient accumulates in
                        // dpo; the state was carried, so dh and dc pass through unchanged.
                        continue;
                    }
                    let dhb = &mut dh[b * nu..(b + 1) * nu];
                    for j in 0..nu {
                        dhb[j] += dpob[j];
                        dpob[j] = T::ZERO;
                    }
                    let gt = &tape.gates[o..o + gu];
                    // Without stored pre-activations, the derivatives read only the outputs.
                    let pr = tape.pre.map_or(gt, |p| &p[o..o + gu]);
                    let dg = &mut dgx[o..o + gu];
                    match cell {
                        Cell::SimpleRnn => {
                            let (dg, pr, gt) = (&mut dg[..nu], &pr[..nu], &gt[..nu]);
                            for j in 0..nu {
                                dg[j] = dhb[j] * act.df(pr[j], gt[j]);
                                dhb[j] = T::ZERO;
                            }
                        }
                        Cell::Lstm { peephole } => {
                            let dcb = &mut dc[b * nu..(b + 1) * nu];
                            let cells = (&tape.cs[ou..ou + nu], &tape.c[ou..ou + nu], &tape.ac[ou..ou + nu]);
                            match p.peephole.filter(|_| peephole) {
                                Some(pp) => {
                                    lstm_backward::<T, RA, A, true>((ra, act), (gt, pr), cells, pp, dpeep, dhb, dcb, dg)
                                }
                                None => lstm_backward::<T, RA, A, false>(
                                    (ra, act),
                                    (gt, pr),
                                    cells,
                                    &[],
                                    &mut [],
                                    dhb,
                                    dcb,
                                    dg,
                                ),
                            }
                        }
                        Cell::Gru { reset_after: true } => {
                            let (hsb, rhb) = (&tape.hs[ou..ou + nu], &tape.rh[ou..ou + nu]);
                            gru_backward::<T, RA, A, true>((ra, act), (gt, pr), hsb, rhb, dhb, dg, &mut dgh[o..o + gu]);
                        }
                        Cell::Gru { reset_after: false } => {
                            let hsb = &tape.hs[ou..ou + nu];
                            gru_backward::<T, RA, A, false>((ra, act), (gt, pr), hsb, &[], dhb, dg, &mut []);
                        }
                    }
                }
            },
        );
        // dh_{t-1} += (dG·Uᵀ) ⊙ mask.
        match cell {
            Cell::SimpleRnn | Cell::Lstm { .. } | Cell::Gru { reset_after: true } => {
                let dg: &[T] = if reset_after { dgh } else { dgx };
                gemm(&mut dhp, nu, rows(dg, s * gu, nb, gu, rs_g), MatRef::row_major(ut, gu, nu), false);
            }
            Cell::Gru { reset_after: false } => {
                // d(r ⊙ hp) = dzh·U_hᵀ, then the reset gate's gradient, then the rest of dh.
                let u_ht = MatRef::row_major(&ut[2 * nu * nu..], nu, nu);
                gemm(&mut drh, nu, rows(dgx, s * gu + 2 * nu, nb, nu, rs_g), u_ht, false);
                for b in 0..nb {
                    if !on(b, s) {
                        continue;
                    }
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let r = &tape.gates[o + nu..o + 2 * nu];
                    let pr = tape.pre.map_or(r, |p| &p[o + nu..o + 2 * nu]);
                    let (d, hp) = (&drh[b * nu..(b + 1) * nu], &hpv[ou..ou + nu]);
                    let dr = &mut dgx[o + nu..o + 2 * nu];
                    for j in 0..nu {
                        dr[j] = d[j] * hp[j] * ra.df(pr[j], r[j]);
                    }
                }
                let u_zrt = MatRef::row_major(&ut[..2 * nu * nu], 2 * nu, nu);
                gemm(&mut dhp, nu, rows(dgx, s * gu, nb, 2 * nu, rs_g), u_zrt, false);
                for b in 0..nb {
                    let o = (b * nt + s) * gu;
                    let (dst, d, r) =
                        (&mut dhp[b * nu..(b + 1) * nu], &drh[b * nu..(b + 1) * nu], &tape.gates[o + nu..o + 2 * nu]);
                    for j in 0..nu {
                        dst[j] += d[j] * r[j];
                    }
                }
            }
        }
        match p.rec_mask {
            Some(m) => {
                for ((d, a), mv) in dh.iter_mut().zip(&dhp).zip(m) {
                    *d += *a * *mv;
                }
            }
            None => {
                for (d, a) in dh.iter_mut().zip(&dhp) {
                    *d += *a;
                }
            }
        }
    }
    give(dpo);
    give(dhp);
    give(drh);
}
