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

use crate::dtype::Float;
use crate::kernels::gemm::{gemm, MatRef};
use crate::kernels::simd::vectorized;
use crate::ops::unary::{sigmoid, Unary};
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

/// An activation inside the time loop: its value and its derivative, where `df(x, y)` gets the
/// input `x` and the output `y`. The common pair (sigmoid gates, tanh cell) has its own types so
/// the loops compile to straight-line, vectorisable code; any other pair goes through [`Dyn`].
pub(crate) trait Fun: Copy + Send + Sync {
    /// Whether `df` needs `x` (otherwise it is a function of `y` alone, and `x` may be anything).
    fn needs_input(self) -> bool;
    fn f<T: Float>(self, x: T) -> T;
    fn df<T: Float>(self, x: T, y: T) -> T;
}

#[derive(Clone, Copy)]
pub(crate) struct Sig;
#[derive(Clone, Copy)]
pub(crate) struct Tanh;
/// Any elementwise activation; `None` is linear.
#[derive(Clone, Copy)]
pub(crate) struct Dyn(pub(crate) Option<Unary>);

impl Fun for Sig {
    fn needs_input(self) -> bool {
        false
    }
    #[inline(always)]
    fn f<T: Float>(self, x: T) -> T {
        sigmoid(x)
    }
    #[inline(always)]
    fn df<T: Float>(self, _x: T, y: T) -> T {
        y * (T::ONE - y)
    }
}

impl Fun for Tanh {
    fn needs_input(self) -> bool {
        false
    }
    /// `sign(x) (1 - e) / (1 + e)` with `e = exp(-2|x|)`: the branch-free exp vectorises where
    /// libm's `tanhf` would keep the gate loop scalar. Absolute error about 1e-7 in f32.
    #[inline(always)]
    fn f<T: Float>(self, x: T) -> T {
        let e = (T::from_f64(-2.0) * x.abs()).exp();
        let t = (T::ONE - e) / (T::ONE + e);
        if x < T::ZERO {
            -t
        } else {
            t
        }
    }
    #[inline(always)]
    fn df<T: Float>(self, _x: T, y: T) -> T {
        T::ONE - y * y
    }
}

impl Fun for Dyn {
    fn needs_input(self) -> bool {
        !matches!(self.0, None | Some(Unary::Relu | Unary::Sigmoid | Unary::Tanh))
    }
    #[inline(always)]
    fn f<T: Float>(self, x: T) -> T {
        match self.0 {
            None => x,
            Some(u) => u.f(x),
        }
    }
    #[inline(always)]
    fn df<T: Float>(self, x: T, y: T) -> T {
        match self.0 {
            None => T::ONE,
            Some(u) => u.df(x, y),
        }
    }
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
    (ra, act): (RA, A),
    d: Dims,
    x: &[T],
    p: &Weights<T>,
    sequences: bool,
    keep: bool,
) -> Forward<T> {
    let Dims { batch: nb, time: nt, features: nf, units: nu } = d;
    let g = cell.gates();
    let gu = g * nu;
    let rs_g = nt * gu;
    let rs_u = nt * nu;
    // Pre-activations of every gate: x·W + b (the input bias, for a GRU with reset_after).
    // Every element is written (the bias, or the GEMM without accumulation).
    let mut z = overwritten::<T>(nb * nt * gu);
    if let Some(b) = p.bias {
        for row in z.chunks_exact_mut(gu) {
            row.copy_from_slice(&b[..gu]);
        }
    }
    gemm(&mut z, gu, MatRef::row_major(x, nb * nt, nf), MatRef::row_major(p.w, nf, gu), p.bias.is_some());
    let rec_bias = match (cell, p.bias) {
        (Cell::Gru { reset_after: true }, Some(b)) => Some(&b[gu..2 * gu]),
        _ => None,
    };
    let needs_pre = keep && (ra.needs_input() || act.needs_input());
    let mut pre = needs_pre.then(|| zeroed::<T>(nb * nt * gu));
    let mut hs = overwritten::<T>(nb * nt * nu);
    let mut hp = p.rec_mask.map(|_| overwritten::<T>(nb * nt * nu));
    let lstm = matches!(cell, Cell::Lstm { .. });
    let per_step = |on: bool| if on && keep { zeroed::<T>(nb * nt * nu) } else { Vec::new() };
    let (mut cs, mut cbuf, mut ac) = (per_step(lstm), per_step(lstm), per_step(lstm));
    let gru = matches!(cell, Cell::Gru { .. });
    let mut rh = if gru { overwritten::<T>(nb * nt * nu) } else { Vec::new() };
    let mut h = p.h0.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec);
    let mut c = if lstm { p.c0.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec) } else { Vec::new() };
    let mut out = zeroed::<T>(nb * nu);
    let mut y = if sequences { overwritten::<T>(nb * nt * nu) } else { Vec::new() };
    // GRU scratch: h·U for one step.
    let mut hu = if gru { zeroed::<T>(nb * gu) } else { Vec::new() };
    for s in 0..nt {
        // The state entering this step, and what multiplies U.
        for b in 0..nb {
            let o = (b * nt + s) * nu;
            hs[o..o + nu].copy_from_slice(&h[b * nu..(b + 1) * nu]);
            if let (Some(hp), Some(m)) = (hp.as_mut(), p.rec_mask) {
                for j in 0..nu {
                    hp[o + j] = h[b * nu + j] * m[b * nu + j];
                }
            }
        }
        let hpv: &[T] = hp.as_deref().unwrap_or(&hs);
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
                    for j in 0..2 * nu {
                        z[o + j] += hub[j];
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
                    for j in 0..nu {
                        rh[ou + j] = ra.f(z[o + nu + j]) * hpv[ou + j];
                    }
                }
                let u_h = MatRef { data: &p.u[2 * nu..], rows: nu, cols: nu, rs: gu, cs: 1 };
                gemm(&mut z[s * gu + 2 * nu..], rs_g, rows(&rh, s * nu, nb, nu, rs_u), u_h, true);
            }
        }
        vectorized(
            #[inline(always)]
            || {
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let keep_step = p.mask.map_or(true, |m| m[b * nt + s] != T::ZERO);
                    if !keep_step {
                        // State carried; the output repeats the previous one.
                        continue;
                    }
                    if let Some(pre) = pre.as_mut() {
                        pre[o..o + gu].copy_from_slice(&z[o..o + gu]);
                    }
                    let hb = &mut h[b * nu..(b + 1) * nu];
                    let zr = &mut z[o..o + gu];
                    match cell {
                        Cell::SimpleRnn => {
                            for j in 0..nu {
                                hb[j] = act.f(zr[j]);
                                zr[j] = hb[j];
                            }
                        }
                        Cell::Lstm { peephole } => {
                            let cb = &mut c[b * nu..(b + 1) * nu];
                            if keep {
                                cs[ou..ou + nu].copy_from_slice(cb);
                            }
                            for j in 0..nu {
                                let cp = cb[j];
                                let (mut zi, mut zf, zg, mut zo) = (zr[j], zr[nu + j], zr[2 * nu + j], zr[3 * nu + j]);
                                if peephole {
                                    let pp = p.peephole.expect("peephole weights");
                                    zi += pp[j] * cp;
                                    zf += pp[nu + j] * cp;
                                }
                                let (i, f, gg) = (ra.f(zi), ra.f(zf), act.f(zg));
                                let cn = f * cp + i * gg;
                                if peephole {
                                    zo += p.peephole.expect("peephole weights")[2 * nu + j] * cn;
                                }
                                let og = ra.f(zo);
                                let a = act.f(cn);
                                hb[j] = og * a;
                                cb[j] = cn;
                                zr[j] = i;
                                zr[nu + j] = f;
                                zr[2 * nu + j] = gg;
                                zr[3 * nu + j] = og;
                                if keep {
                                    cbuf[ou + j] = cn;
                                    ac[ou + j] = a;
                                }
                                if let Some(pre) = pre.as_mut() {
                                    pre[o + j] = zi;
                                    pre[o + nu + j] = zf;
                                    pre[o + 3 * nu + j] = zo;
                                }
                            }
                        }
                        Cell::Gru { reset_after } => {
                            for j in 0..nu {
                                let zz = ra.f(zr[j]);
                                let r = ra.f(zr[nu + j]);
                                let mut zh = zr[2 * nu + j];
                                if reset_after {
                                    zh += r * rh[ou + j];
                                }
                                let hh = act.f(zh);
                                hb[j] = zz * hb[j] + (T::ONE - zz) * hh;
                                zr[j] = zz;
                                zr[nu + j] = r;
                                zr[2 * nu + j] = hh;
                                if let Some(pre) = pre.as_mut() {
                                    pre[o + 2 * nu + j] = zh;
                                }
                            }
                        }
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
    // z now holds the gate activations.
    let tape = Tape { gates: z, pre, hs, hp, cs, c: cbuf, ac, rh };
    let tape = if keep { Some(tape) } else { None };
    let y = if sequences {
        give(out);
        y
    } else {
        out
    };
    Forward { y, h, c, tape }
}

/// Gradients of one sequence pass.
pub(crate) struct Backward<T> {
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
    (ra, act): (RA, A),
    d: Dims,
    x: &[T],
    p: &Weights<T>,
    tape: &Tape<T>,
    sequences: bool,
    grads: OutputGrads<T>,
) -> Backward<T> {
    let OutputGrads { y: gy, h: gh, c: gc } = grads;
    let Dims { batch: nb, time: nt, features: nf, units: nu } = d;
    let g = cell.gates();
    let gu = g * nu;
    let rs_g = nt * gu;
    let reset_after = matches!(cell, Cell::Gru { reset_after: true });
    // Gradients of the gate pre-activations: on the input side (for dX, dW and the input bias),
    // and, where they differ (GRU with reset_after), on the recurrent side (for dU, dh and the
    // recurrent bias).
    // Without a mask every row is written; with one, masked rows must stay zero.
    let fresh = |n: usize| if p.mask.is_some() { zeroed::<T>(n) } else { overwritten::<T>(n) };
    let mut dgx = fresh(nb * nt * gu);
    let mut dgh = if reset_after { fresh(nb * nt * gu) } else { Vec::new() };
    let mut dh = gh.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec);
    let mut dc = match cell {
        Cell::Lstm { .. } => gc.map_or_else(|| zeroed::<T>(nb * nu), <[T]>::to_vec),
        _ => Vec::new(),
    };
    // The gradient reaching the previous output through masked steps that repeated it.
    let mut dpo = zeroed::<T>(nb * nu);
    let mut dhp = zeroed::<T>(nb * nu);
    let mut drh = if matches!(cell, Cell::Gru { reset_after: false }) { zeroed::<T>(nb * nu) } else { Vec::new() };
    let mut dpeep = zeroed::<T>(if matches!(cell, Cell::Lstm { peephole: true }) { 3 * nu } else { 0 });
    let hpv: &[T] = tape.hp.as_deref().unwrap_or(&tape.hs);
    let pre = |o: usize| tape.pre.as_ref().map_or(T::ZERO, |p| p[o]);
    let on = |b: usize, s: usize| p.mask.map_or(true, |m| m[b * nt + s] != T::ZERO);
    for s in (0..nt).rev() {
        vectorized(
            #[inline(always)]
            || {
                for b in 0..nb {
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    let dpob = &mut dpo[b * nu..(b + 1) * nu];
                    // The gradient of this step's output.
                    match gy {
                        Some(gy) if sequences => {
                            for j in 0..nu {
                                dpob[j] += gy[ou + j];
                            }
                        }
                        Some(gy) if s + 1 == nt => {
                            for j in 0..nu {
                                dpob[j] += gy[b * nu + j];
                            }
                        }
                        _ => {}
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
                    let dg = &mut dgx[o..o + gu];
                    match cell {
                        Cell::SimpleRnn => {
                            for j in 0..nu {
                                dg[j] = dhb[j] * act.df(pre(o + j), gt[j]);
                                dhb[j] = T::ZERO;
                            }
                        }
                        Cell::Lstm { peephole } => {
                            let dcb = &mut dc[b * nu..(b + 1) * nu];
                            for j in 0..nu {
                                let (i, f, gg, og) = (gt[j], gt[nu + j], gt[2 * nu + j], gt[3 * nu + j]);
                                let (cp, cn, a) = (tape.cs[ou + j], tape.c[ou + j], tape.ac[ou + j]);
                                let dho = dhb[j];
                                let dzo = dho * a * ra.df(pre(o + 3 * nu + j), og);
                                let mut dcn = dcb[j] + dho * og * act.df(cn, a);
                                if peephole {
                                    let pp = p.peephole.expect("peephole weights");
                                    dcn += dzo * pp[2 * nu + j];
                                }
                                let dzi = dcn * gg * ra.df(pre(o + j), i);
                                let dzf = dcn * cp * ra.df(pre(o + nu + j), f);
                                let dzg = dcn * i * act.df(pre(o + 2 * nu + j), gg);
                                let mut dcp = dcn * f;
                                if peephole {
                                    let pp = p.peephole.expect("peephole weights");
                                    dcp += dzi * pp[j] + dzf * pp[nu + j];
                                    dpeep[j] += dzi * cp;
                                    dpeep[nu + j] += dzf * cp;
                                    dpeep[2 * nu + j] += dzo * cn;
                                }
                                dg[j] = dzi;
                                dg[nu + j] = dzf;
                                dg[2 * nu + j] = dzg;
                                dg[3 * nu + j] = dzo;
                                dcb[j] = dcp;
                                dhb[j] = T::ZERO;
                            }
                        }
                        Cell::Gru { reset_after } => {
                            let hsb = &tape.hs[ou..ou + nu];
                            for j in 0..nu {
                                let (zz, r, hh) = (gt[j], gt[nu + j], gt[2 * nu + j]);
                                let dhn = dhb[j];
                                let dz = dhn * (hsb[j] - hh) * ra.df(pre(o + j), zz);
                                let dzh = dhn * (T::ONE - zz) * act.df(pre(o + 2 * nu + j), hh);
                                dg[j] = dz;
                                dg[2 * nu + j] = dzh;
                                if reset_after {
                                    let dr = dzh * tape.rh[ou + j] * ra.df(pre(o + nu + j), r);
                                    dg[nu + j] = dr;
                                    let dgr = &mut dgh[o..o + gu];
                                    dgr[j] = dz;
                                    dgr[nu + j] = dr;
                                    dgr[2 * nu + j] = dzh * r;
                                }
                                // The direct path h_{t-1} -> h_t through the update gate.
                                dhb[j] = dhn * zz;
                            }
                        }
                    }
                }
            },
        );
        // dh_{t-1} += (dG·Uᵀ) ⊙ mask.
        match cell {
            Cell::SimpleRnn | Cell::Lstm { .. } | Cell::Gru { reset_after: true } => {
                let dg = if reset_after { &dgh } else { &dgx };
                gemm(&mut dhp, nu, rows(dg, s * gu, nb, gu, rs_g), MatRef::row_major(p.u, nu, gu).t(), false);
            }
            Cell::Gru { reset_after: false } => {
                // d(r ⊙ hp) = dzh·U_hᵀ, then the reset gate's gradient, then the rest of dh.
                let u_h = MatRef { data: &p.u[2 * nu..], rows: nu, cols: nu, rs: gu, cs: 1 };
                gemm(&mut drh, nu, rows(&dgx, s * gu + 2 * nu, nb, nu, rs_g), u_h.t(), false);
                for b in 0..nb {
                    if !on(b, s) {
                        continue;
                    }
                    let (o, ou) = ((b * nt + s) * gu, (b * nt + s) * nu);
                    for j in 0..nu {
                        let r = tape.gates[o + nu + j];
                        dgx[o + nu + j] = drh[b * nu + j] * hpv[ou + j] * ra.df(pre(o + nu + j), r);
                    }
                }
                let u_zr = MatRef { data: p.u, rows: nu, cols: 2 * nu, rs: gu, cs: 1 };
                gemm(&mut dhp, nu, rows(&dgx, s * gu, nb, 2 * nu, rs_g), u_zr.t(), false);
                for b in 0..nb {
                    let o = (b * nt + s) * gu;
                    for j in 0..nu {
                        dhp[b * nu + j] += drh[b * nu + j] * tape.gates[o + nu + j];
                    }
                }
            }
        }
        for b in 0..nb {
            for j in 0..nu {
                let m = p.rec_mask.map_or(T::ONE, |m| m[b * nu + j]);
                dh[b * nu + j] += dhp[b * nu + j] * m;
            }
        }
    }
    // Whole-sequence products.
    let xm = MatRef::row_major(x, nb * nt, nf);
    let mut dx = overwritten::<T>(nb * nt * nf);
    gemm(&mut dx, nf, MatRef::row_major(&dgx, nb * nt, gu), MatRef::row_major(p.w, nf, gu).t(), false);
    let mut dw = overwritten::<T>(nf * gu);
    gemm(&mut dw, gu, xm.t(), MatRef::row_major(&dgx, nb * nt, gu), false);
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
    for b in [dgx, dgh, dpo, dhp, drh] {
        give(b);
    }
    Backward { dx, dw, du, dbias, dpeephole: dpeep, dh0: dh, dc0: dc }
}
