//! The recurrent cells' arithmetic on one row of a batch: the activations inside the time loop
//! ([`Fun`]) and, per cell, the fused forward pass over a step's gates and its backward. The
//! time loops that call them, and the GEMMs between, are in `recurrent.rs`. Each function takes
//! equal-length slices and is `#[inline(always)]`, so its loops vectorise inside the caller's
//! `vectorized` block.

use crate::dtype::Float;
use crate::ops::unary::{sigmoid, Unary};

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

/// SimpleRNN, one row: `h = act(z)`; `z` becomes the activation.
#[inline(always)]
pub(super) fn simple_forward<T: Float, A: Fun>(act: A, z: &mut [T], h: &mut [T], pre: Option<&mut [T]>) {
    let n = h.len();
    let z = &mut z[..n];
    if let Some(pre) = pre {
        pre[..n].copy_from_slice(z);
    }
    for j in 0..n {
        let a = act.f(z[j]);
        z[j] = a;
        h[j] = a;
    }
}

/// LSTM, one row: gates `z = [i, f, g, o]` (pre-activations in, activations out), the state `c`
/// and `h` updated in place, `c_t` and `act(c_t)` written to `cn` and `a` for the tape.
#[inline(always)]
pub(super) fn lstm_forward<T: Float, RA: Fun, A: Fun>(
    (ra, act): (RA, A),
    z: &mut [T],
    c: &mut [T],
    h: &mut [T],
    peep: Option<&[T]>,
    (cn, a): (&mut [T], &mut [T]),
    pre: Option<&mut [T]>,
) {
    let n = c.len();
    let (zi, rest) = z.split_at_mut(n);
    let (zf, rest) = rest.split_at_mut(n);
    let (zg, zo) = rest.split_at_mut(n);
    let (zo, h, cn, a) = (&mut zo[..n], &mut h[..n], &mut cn[..n], &mut a[..n]);
    if let Some(p) = peep {
        let (pi, pf) = (&p[..n], &p[n..2 * n]);
        for j in 0..n {
            zi[j] += pi[j] * c[j];
            zf[j] += pf[j] * c[j];
        }
    }
    let mut pre = pre;
    if let Some(pre) = pre.as_mut() {
        pre[..n].copy_from_slice(zi);
        pre[n..2 * n].copy_from_slice(zf);
        pre[2 * n..3 * n].copy_from_slice(zg);
    }
    for j in 0..n {
        let (i, f, g) = (ra.f(zi[j]), ra.f(zf[j]), act.f(zg[j]));
        cn[j] = f * c[j] + i * g;
        zi[j] = i;
        zf[j] = f;
        zg[j] = g;
    }
    if let Some(p) = peep {
        let po = &p[2 * n..3 * n];
        for j in 0..n {
            zo[j] += po[j] * cn[j];
        }
    }
    if let Some(pre) = pre {
        pre[3 * n..4 * n].copy_from_slice(zo);
    }
    for j in 0..n {
        let o = ra.f(zo[j]);
        let v = act.f(cn[j]);
        zo[j] = o;
        a[j] = v;
        h[j] = o * v;
        c[j] = cn[j];
    }
}

/// GRU, one row: gates `z = [z, r, h]` (pre-activations in, activations out; the candidate's
/// pre-activation already holds `(r ⊙ h)·U_h` without `reset_after`), `rh` the recurrent
/// candidate term `h·U_h + b` applied after the reset gate with `reset_after`.
#[inline(always)]
pub(super) fn gru_forward<T: Float, RA: Fun, A: Fun>(
    (ra, act): (RA, A),
    z: &mut [T],
    rh: &[T],
    h: &mut [T],
    reset_after: bool,
    pre: Option<&mut [T]>,
) {
    let n = h.len();
    let (zz, rest) = z.split_at_mut(n);
    let (zr, zh) = rest.split_at_mut(n);
    let (zh, rh) = (&mut zh[..n], &rh[..n]);
    let mut pre = pre;
    if let Some(pre) = pre.as_mut() {
        pre[..n].copy_from_slice(zz);
        pre[n..2 * n].copy_from_slice(zr);
    }
    for j in 0..n {
        zz[j] = ra.f(zz[j]);
        zr[j] = ra.f(zr[j]);
    }
    if reset_after {
        for j in 0..n {
            zh[j] += zr[j] * rh[j];
        }
    }
    if let Some(pre) = pre {
        pre[2 * n..3 * n].copy_from_slice(zh);
    }
    for j in 0..n {
        let hh = act.f(zh[j]);
        zh[j] = hh;
        h[j] = zz[j] * h[j] + (T::ONE - zz[j]) * hh;
    }
}

/// LSTM backward, one row: from `dh` (the gradient of `h_t`) and `dc` (of `c_t` from later
/// steps) to the gate pre-activation gradients `dg`; `dc` becomes the gradient of `c_{t-1}` and
/// `dh` zero (h_{t-1} reaches h_t only through the recurrent product). `P`: peepholes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn lstm_backward<T: Float, RA: Fun, A: Fun, const P: bool>(
    (ra, act): (RA, A),
    (g, pre): (&[T], &[T]),
    (cp, cn, a): (&[T], &[T], &[T]),
    peep: &[T],
    dpeep: &mut [T],
    dh: &mut [T],
    dc: &mut [T],
    dg: &mut [T],
) {
    let n = dh.len();
    let (cp, cn, a, dc) = (&cp[..n], &cn[..n], &a[..n], &mut dc[..n]);
    let (gi, gf, gg, go) = (&g[..n], &g[n..2 * n], &g[2 * n..3 * n], &g[3 * n..4 * n]);
    let (pi, pf, pg, po) = (&pre[..n], &pre[n..2 * n], &pre[2 * n..3 * n], &pre[3 * n..4 * n]);
    let (di, rest) = dg.split_at_mut(n);
    let (df, rest) = rest.split_at_mut(n);
    let (dgg, dout) = rest.split_at_mut(n);
    let dout = &mut dout[..n];
    let (wi, wf, wo) = if P { (&peep[..n], &peep[n..2 * n], &peep[2 * n..3 * n]) } else { (&[][..], &[][..], &[][..]) };
    let (dpi, rest) = dpeep.split_at_mut(if P { n } else { 0 });
    let (dpf, dpo) = rest.split_at_mut(if P { n } else { 0 });
    for j in 0..n {
        let dho = dh[j];
        let dzo = dho * a[j] * ra.df(po[j], go[j]);
        let mut dcn = dc[j] + dho * go[j] * act.df(cn[j], a[j]);
        if P {
            dcn += dzo * wo[j];
        }
        let dzi = dcn * gg[j] * ra.df(pi[j], gi[j]);
        let dzf = dcn * cp[j] * ra.df(pf[j], gf[j]);
        let dzg = dcn * gi[j] * act.df(pg[j], gg[j]);
        let mut dcp = dcn * gf[j];
        if P {
            dcp += dzi * wi[j] + dzf * wf[j];
            dpi[j] += dzi * cp[j];
            dpf[j] += dzf * cp[j];
            dpo[j] += dzo * cn[j];
        }
        di[j] = dzi;
        df[j] = dzf;
        dgg[j] = dzg;
        dout[j] = dzo;
        dc[j] = dcp;
        dh[j] = T::ZERO;
    }
}

/// GRU backward, one row: from `dh` (the gradient of `h_t`) to the input-side gate gradients
/// `dgx` and, with `reset_after` (`R`), the recurrent-side ones `dgh`; `dh` becomes the direct
/// part of the gradient of `h_{t-1}` (through the update gate). Without `reset_after` the reset
/// gate's gradient needs `dG·U_hᵀ` first and is filled in after.
#[inline(always)]
pub(super) fn gru_backward<T: Float, RA: Fun, A: Fun, const R: bool>(
    (ra, act): (RA, A),
    (g, pre): (&[T], &[T]),
    hs: &[T],
    rh: &[T],
    dh: &mut [T],
    dgx: &mut [T],
    dgh: &mut [T],
) {
    let n = dh.len();
    let hs = &hs[..n];
    let (gz, gr, gh) = (&g[..n], &g[n..2 * n], &g[2 * n..3 * n]);
    let (pz, pr, ph) = (&pre[..n], &pre[n..2 * n], &pre[2 * n..3 * n]);
    let (dz_x, rest) = dgx.split_at_mut(n);
    let (dr_x, dh_x) = rest.split_at_mut(n);
    let dh_x = &mut dh_x[..n];
    let rh = if R { &rh[..n] } else { &[][..] };
    let (dz_h, rest) = dgh.split_at_mut(if R { n } else { 0 });
    let (dr_h, dh_h) = rest.split_at_mut(if R { n } else { 0 });
    for j in 0..n {
        let d = dh[j];
        let dz = d * (hs[j] - gh[j]) * ra.df(pz[j], gz[j]);
        let dc = d * (T::ONE - gz[j]) * act.df(ph[j], gh[j]);
        dz_x[j] = dz;
        dh_x[j] = dc;
        if R {
            let dr = dc * rh[j] * ra.df(pr[j], gr[j]);
            dr_x[j] = dr;
            dz_h[j] = dz;
            dr_h[j] = dr;
            dh_h[j] = dc * gr[j];
        }
        dh[j] = d * gz[j];
    }
}
