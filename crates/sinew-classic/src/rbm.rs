//! The restricted Boltzmann machine: binary hidden units over Bernoulli (values in `[0, 1]`) or
//! Gaussian (unit variance, for standardised real data) visible units, trained by contrastive
//! divergence (CD-k) or persistent contrastive divergence (PCD-k, scikit-learn's
//! `BernoulliRBM`), with momentum and weight decay as Hinton's practical guide gives them.
//!
//! One update on a batch `v` of `b` rows, with `lr` the learning rate:
//! - positive phase: `h⁺ = σ(v Wᵀ + c)`;
//! - negative phase: from the persistent chain's hidden samples (PCD) or from a sample of `h⁺`
//!   (CD), `k` Gibbs steps `v⁻ ~ p(v | h)`, `h⁻ = σ(v⁻ Wᵀ + c)`, `h ~ h⁻`; PCD keeps the last
//!   `h` for the next batch;
//! - `W += lr (h⁺ᵀ v / b − h⁻ᵀ v⁻ / c − λ W)` (with momentum `μ`, through a velocity), and the
//!   biases by the same differences of means, undecayed.
//!
//! The two outer products are one GEMM over the rows of `[h⁺; −h⁻]` and `[v; v⁻]`. Parameters
//! and arithmetic are f32; scikit-learn's update rule, free energy, `transform` and
//! pseudo-likelihood are matched to its f64 results (`tests/sklearn_rbm.rs`).

use rand::{Rng as _, SeedableRng};
use sinew_data::{Error, Result};
use sinew_tensor::kernels::gemm::{gemm, MatRef};
use sinew_tensor::kernels::math::sigmoid_f32 as sigmoid;
use sinew_tensor::runtime::vectorized;
use sinew_tensor::{DType, Rng, Tensor};
use std::borrow::Cow;
use std::time::Instant;

/// The distribution of the visible units given the hidden ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisibleUnits {
    /// `p(v = 1 | h) = σ(h W + b)`; data in `[0, 1]` (binary, or read as probabilities).
    Bernoulli,
    /// `v | h ~ N(h W + b, 1)`; for real data standardised to unit variance per column.
    Gaussian,
}

/// The RBM's hyperparameters, with scikit-learn's `BernoulliRBM` defaults
/// (`RbmOptions::new()`): 256 hidden units, learning rate 0.1, batch 10, persistent CD-1; no
/// momentum or weight decay; batches shuffled each epoch (scikit-learn takes them in order:
/// `shuffle(false)`), seed 0.
#[derive(Clone, Debug, PartialEq)]
pub struct RbmOptions {
    pub hidden: usize,
    pub visible_units: VisibleUnits,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Gibbs steps in the negative phase.
    pub k: usize,
    /// PCD (a chain of `batch_size` particles kept across updates) rather than CD.
    pub persistent: bool,
    pub momentum: f64,
    /// L2 weight cost `λ` on the weights (not the biases).
    pub weight_decay: f64,
    pub shuffle: bool,
    pub seed: u64,
}

impl Default for RbmOptions {
    fn default() -> Self {
        RbmOptions {
            hidden: 256,
            visible_units: VisibleUnits::Bernoulli,
            learning_rate: 0.1,
            batch_size: 10,
            k: 1,
            persistent: true,
            momentum: 0.0,
            weight_decay: 0.0,
            shuffle: true,
            seed: 0,
        }
    }
}

impl RbmOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn hidden(mut self, n: usize) -> Self {
        self.hidden = n;
        self
    }
    pub fn visible_units(mut self, v: VisibleUnits) -> Self {
        self.visible_units = v;
        self
    }
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.learning_rate = lr;
        self
    }
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    /// CD-k (`persistent = false`) or PCD-k (`true`).
    pub fn gibbs_steps(mut self, k: usize, persistent: bool) -> Self {
        self.k = k;
        self.persistent = persistent;
        self
    }
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    pub fn weight_decay(mut self, l2: f64) -> Self {
        self.weight_decay = l2;
        self
    }
    pub fn shuffle(mut self, s: bool) -> Self {
        self.shuffle = s;
        self
    }
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
}

/// What one epoch of [`Rbm::fit`] measured, on each batch with the weights it started from
/// (as the Theano tutorial monitors): the mean pseudo-log-likelihood (Bernoulli units only;
/// scikit-learn's estimator, one random bit flipped per row) and the mean squared error of the
/// mean-field reconstruction `p(v | σ(v Wᵀ + c))`, per visible unit.
#[derive(Clone, Debug, PartialEq)]
pub struct RbmEpoch {
    pub epoch: usize,
    pub pseudo_log_likelihood: Option<f64>,
    pub reconstruction_error: f64,
    pub seconds: f64,
}

/// A restricted Boltzmann machine. See the module docs for the update.
pub struct Rbm {
    opts: RbmOptions,
    visible: usize,
    /// `hidden x visible`, scikit-learn's `components_`.
    w: Vec<f32>,
    hb: Vec<f32>,
    vb: Vec<f32>,
    /// Velocities of `w`, `hb`, `vb` (empty without momentum).
    vel: [Vec<f32>; 3],
    /// The persistent chain's hidden samples, `batch_size x hidden` (zeros at first, as in
    /// scikit-learn).
    chain: Vec<f32>,
    rng: Rng,
    epochs_done: usize,
    work: Work,
}

/// Buffers one update reuses.
#[derive(Default)]
struct Work {
    pre: Vec<f32>,
    h: Vec<f32>,
    vm: Vec<f32>,
    stack_h: Vec<f32>,
    stack_v: Vec<f32>,
    u: Vec<f32>,
}

/// Sums of one epoch's monitors.
#[derive(Default)]
struct Monitor {
    pll: f64,
    sq_err: f64,
    rows: usize,
    units: usize,
}

fn softplus_f64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Bernoulli samples in place: `p[i] = 1` where `u[i] < p[i]`, else 0 (scikit-learn's rule).
fn sample_in_place(p: &mut [f32], u: &[f32]) {
    vectorized(
        #[inline(always)]
        || {
            for (p, &u) in p.iter_mut().zip(u) {
                *p = if u < *p { 1.0 } else { 0.0 };
            }
        },
    )
}

/// `dst[r, :] = x[r, :] · Wᵀ + c` (`rows x hidden`), or with `to_hidden = false`,
/// `dst[r, :] = x[r, :] · W + b` (`rows x visible`). `dst` is resized to fit.
fn affine(
    dst: &mut Vec<f32>,
    x: &[f32],
    rows: usize,
    w: &[f32],
    hidden: usize,
    visible: usize,
    bias: &[f32],
    to_hidden: bool,
) {
    dst.resize(rows * if to_hidden { hidden } else { visible }, 0.0);
    affine_into(dst, x, rows, w, hidden, visible, bias, to_hidden);
}

/// [`affine`] into a slice of exactly the output's size.
#[allow(clippy::too_many_arguments)]
fn affine_into(
    dst: &mut [f32],
    x: &[f32],
    rows: usize,
    w: &[f32],
    hidden: usize,
    visible: usize,
    bias: &[f32],
    to_hidden: bool,
) {
    let (k, n) = if to_hidden { (visible, hidden) } else { (hidden, visible) };
    debug_assert_eq!(dst.len(), rows * n);
    let wm = MatRef::row_major(w, hidden, visible);
    let wm = if to_hidden { wm.t() } else { wm };
    gemm(dst, n, MatRef::row_major(&x[..rows * k], rows, k), wm, false);
    vectorized(
        #[inline(always)]
        || {
            for row in dst.chunks_mut(n) {
                for (d, &b) in row.iter_mut().zip(bias) {
                    *d += b;
                }
            }
        },
    );
}

fn map_in_place(x: &mut [f32], f: impl Fn(f32) -> f32) {
    vectorized(
        #[inline(always)]
        || {
            for v in x.iter_mut() {
                *v = f(*v);
            }
        },
    )
}

impl Rbm {
    /// A new RBM over `visible` units: weights from `N(0, 0.01²)` (scikit-learn's and Hinton's
    /// guide's initialisation), biases zero.
    pub fn new(visible: usize, opts: RbmOptions) -> Result<Rbm> {
        let bad = |what: String| Err(Error::invalid(format!("Rbm: {what}")));
        if visible == 0 || opts.hidden == 0 {
            return bad(format!("visible ({visible}) and hidden ({}) units must be positive", opts.hidden));
        }
        if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
            return bad(format!("learning_rate must be positive, got {}", opts.learning_rate));
        }
        if opts.batch_size == 0 || opts.k == 0 {
            return bad(format!("batch_size ({}) and Gibbs steps k ({}) must be at least 1", opts.batch_size, opts.k));
        }
        if !(0.0..1.0).contains(&opts.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", opts.momentum));
        }
        if !(opts.weight_decay.is_finite() && opts.weight_decay >= 0.0) {
            return bad(format!("weight_decay must be non-negative, got {}", opts.weight_decay));
        }
        let mut rng = Rng::seed(opts.seed);
        let w = (0..opts.hidden * visible).map(|_| (0.01 * rng.normal()) as f32).collect();
        let vel = if opts.momentum > 0.0 {
            [vec![0.0; opts.hidden * visible], vec![0.0; opts.hidden], vec![0.0; visible]]
        } else {
            Default::default()
        };
        Ok(Rbm {
            chain: vec![0.0; opts.batch_size * opts.hidden],
            hb: vec![0.0; opts.hidden],
            vb: vec![0.0; visible],
            w,
            vel,
            visible,
            rng,
            opts,
            epochs_done: 0,
            work: Work::default(),
        })
    }

    pub fn options(&self) -> &RbmOptions {
        &self.opts
    }
    pub fn visible(&self) -> usize {
        self.visible
    }
    pub fn hidden(&self) -> usize {
        self.opts.hidden
    }
    /// The weights, `[hidden, visible]` (scikit-learn's `components_`).
    pub fn weights(&self) -> Tensor {
        Tensor::from_vec(self.w.clone(), [self.opts.hidden, self.visible])
    }
    pub fn hidden_bias(&self) -> Tensor {
        Tensor::from_vec(self.hb.clone(), [self.opts.hidden])
    }
    pub fn visible_bias(&self) -> Tensor {
        Tensor::from_vec(self.vb.clone(), [self.visible])
    }
    /// The persistent chain's hidden samples, `[batch_size, hidden]`.
    pub fn chain(&self) -> Tensor {
        Tensor::from_vec(self.chain.clone(), [self.opts.batch_size, self.opts.hidden])
    }

    /// Replaces the weights and biases (shapes as [`Rbm::weights`] and the biases give them).
    pub fn set_parameters(&mut self, weights: &Tensor, hidden_bias: &Tensor, visible_bias: &Tensor) -> Result<()> {
        let (h, v) = (self.opts.hidden, self.visible);
        for (what, t, want) in [
            ("weights", weights, vec![h, v]),
            ("hidden_bias", hidden_bias, vec![h]),
            ("visible_bias", visible_bias, vec![v]),
        ] {
            if t.dims() != want.as_slice() {
                return Err(Error::invalid(format!(
                    "Rbm.set_parameters: {what} has shape {:?}, expected {want:?}",
                    t.dims()
                )));
            }
        }
        self.w = weights.to_vec_f32();
        self.hb = hidden_bias.to_vec_f32();
        self.vb = visible_bias.to_vec_f32();
        Ok(())
    }

    /// Replaces the persistent chain's hidden samples (`[batch_size, hidden]`, values 0 or 1).
    pub fn set_chain(&mut self, h: &Tensor) -> Result<()> {
        let want = [self.opts.batch_size, self.opts.hidden];
        if h.dims() != want {
            return Err(Error::invalid(format!("Rbm.set_chain: shape {:?}, expected {want:?}", h.dims())));
        }
        self.chain = h.to_vec_f32();
        Ok(())
    }

    /// The rows of `x` (`[n, visible]`), checked: finite, and in `[0, 1]` for Bernoulli units.
    fn rows<'a>(&self, what: &str, x: &'a Tensor) -> Result<(usize, Cow<'a, [f32]>)> {
        if x.rank() != 2 || x.dims()[1] != self.visible || x.dims()[0] == 0 {
            return Err(Error::invalid(format!(
                "{what}: expected [samples, {}] with at least one sample, got shape {:?}",
                self.visible,
                x.dims()
            )));
        }
        let v: Cow<[f32]> =
            if x.dtype() == DType::F32 { Cow::Borrowed(x.as_slice_f32()) } else { Cow::Owned(x.to_vec_f32()) };
        let bernoulli = self.opts.visible_units == VisibleUnits::Bernoulli;
        let bad = |e: f32| !e.is_finite() || (bernoulli && !(0.0..=1.0).contains(&e));
        // One vectorised pass decides; the position is looked for only when something is wrong.
        let any_bad = vectorized(
            #[inline(always)]
            || v.iter().fold(false, |acc, &e| acc | bad(e)),
        );
        if let Some(i) = any_bad.then(|| v.iter().position(|&e| bad(e))).flatten() {
            let need = if bernoulli { "in [0, 1] for Bernoulli visible units" } else { "finite" };
            return Err(Error::invalid(format!(
                "{what}: sample {}, column {}: value {} is not {need}",
                i / self.visible,
                i % self.visible,
                v[i]
            )));
        }
        Ok((x.dims()[0], v))
    }

    /// One epoch over `x` in batches of `batch_size` (shuffled unless `shuffle(false)`).
    pub fn fit_epoch(&mut self, x: &Tensor) -> Result<RbmEpoch> {
        let start = Instant::now();
        let (n, v) = self.rows("Rbm.fit", x)?;
        let mut order: Vec<usize> = (0..n).collect();
        if self.opts.shuffle {
            self.rng.shuffle(&mut order);
        }
        let mut stream = self.rng.stream();
        let mut draw = |u: &mut [f32]| u.iter_mut().for_each(|u| *u = stream.random::<f32>());
        let mut flip = rand::rngs::SmallRng::seed_from_u64(self.rng.next_u64());
        let mut mon = Monitor::default();
        let mut batch = Vec::with_capacity(self.opts.batch_size * self.visible);
        for idx in order.chunks(self.opts.batch_size) {
            batch.clear();
            for &i in idx {
                batch.extend_from_slice(&v[i * self.visible..(i + 1) * self.visible]);
            }
            self.update(&batch, idx.len(), &mut draw, Some((&mut mon, &mut flip)));
        }
        self.epochs_done += 1;
        Ok(RbmEpoch {
            epoch: self.epochs_done,
            pseudo_log_likelihood: (self.opts.visible_units == VisibleUnits::Bernoulli)
                .then(|| mon.pll / mon.rows as f64),
            reconstruction_error: mon.sq_err / mon.units as f64,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// `epochs` epochs of [`Rbm::fit_epoch`]; what each measured.
    pub fn fit(&mut self, x: &Tensor, epochs: usize) -> Result<Vec<RbmEpoch>> {
        (0..epochs).map(|_| self.fit_epoch(x)).collect()
    }

    /// One update on `batch` (`[b, visible]`, any `b ≥ 1`), unmonitored.
    pub fn partial_fit(&mut self, batch: &Tensor) -> Result<()> {
        let (n, v) = self.rows("Rbm.partial_fit", batch)?;
        let mut stream = self.rng.stream();
        self.update(&v, n, &mut |u: &mut [f32]| u.iter_mut().for_each(|u| *u = stream.random::<f32>()), None);
        Ok(())
    }

    /// [`Rbm::partial_fit`] with its uniform draws given, in the order the update takes them
    /// (for each Gibbs step the visible units' `[chain, visible]`, then the hidden units'
    /// `[chain, hidden]`; CD first samples `[b, hidden]` from the positive phase). Gaussian
    /// units take two uniforms per value (Box-Muller). For replaying another library's update.
    pub fn partial_fit_with_uniforms(&mut self, batch: &Tensor, uniforms: &[f32]) -> Result<()> {
        let (n, v) = self.rows("Rbm.partial_fit_with_uniforms", batch)?;
        let mut at = 0;
        let mut short = false;
        self.update(
            &v,
            n,
            &mut |u: &mut [f32]| {
                let end = (at + u.len()).min(uniforms.len());
                short |= end - at < u.len();
                u[..end - at].copy_from_slice(&uniforms[at..end]);
                at = end;
            },
            None,
        );
        if short || at != uniforms.len() {
            return Err(Error::invalid(format!(
                "Rbm.partial_fit_with_uniforms: {} uniforms given, the update took {at}",
                uniforms.len()
            )));
        }
        Ok(())
    }

    /// One update (the module docs'), drawing uniforms from `draw`.
    fn update(
        &mut self,
        v: &[f32],
        b: usize,
        draw: &mut dyn FnMut(&mut [f32]),
        mon: Option<(&mut Monitor, &mut rand::rngs::SmallRng)>,
    ) {
        let (nv, nh) = (self.visible, self.opts.hidden);
        let mut wk = std::mem::take(&mut self.work);
        // Positive phase, h⁺ in the first b rows of stack_h.
        affine(&mut wk.pre, v, b, &self.w, nh, nv, &self.hb, true);
        if let Some((mon, flip)) = mon {
            self.monitor(v, b, &wk.pre, mon, flip, &mut wk.vm);
        }
        let c = if self.opts.persistent { self.opts.batch_size } else { b };
        wk.stack_h.resize((b + c) * nh, 0.0);
        wk.stack_h[..b * nh].copy_from_slice(&wk.pre);
        map_in_place(&mut wk.stack_h[..b * nh], sigmoid);
        // The negative chain's starting hidden samples.
        if self.opts.persistent {
            wk.h.clone_from(&self.chain);
        } else {
            wk.h.clear();
            wk.h.extend_from_slice(&wk.stack_h[..b * nh]);
            wk.u.resize(b * nh, 0.0);
            draw(&mut wk.u);
            sample_in_place(&mut wk.h, &wk.u);
        }
        wk.stack_v.resize((b + c) * nv, 0.0);
        wk.stack_v[..b * nv].copy_from_slice(v);
        for step in 0..self.opts.k {
            let (_, v_neg) = wk.stack_v.split_at_mut(b * nv);
            affine_into(v_neg, &wk.h, c, &self.w, nh, nv, &self.vb, false);
            self.sample_visible(v_neg, &mut wk.u, draw);
            affine(&mut wk.pre, v_neg, c, &self.w, nh, nv, &self.hb, true);
            map_in_place(&mut wk.pre, sigmoid);
            if step + 1 < self.opts.k {
                wk.h.clone_from(&wk.pre);
                wk.u.resize(c * nh, 0.0);
                draw(&mut wk.u);
                sample_in_place(&mut wk.h, &wk.u);
            }
        }
        wk.stack_h[b * nh..].copy_from_slice(&wk.pre);
        self.apply(&mut wk, b, c);
        if self.opts.persistent {
            self.chain.clone_from(&wk.pre);
            wk.u.resize(c * nh, 0.0);
            draw(&mut wk.u);
            sample_in_place(&mut self.chain, &wk.u);
        }
        self.work = wk;
    }

    /// `vm` holds `h W + b`: turns it into samples of the visible units.
    fn sample_visible(&self, vm: &mut [f32], u: &mut Vec<f32>, draw: &mut dyn FnMut(&mut [f32])) {
        match self.opts.visible_units {
            VisibleUnits::Bernoulli => {
                map_in_place(vm, sigmoid);
                u.resize(vm.len(), 0.0);
                draw(u);
                sample_in_place(vm, u);
            }
            VisibleUnits::Gaussian => {
                u.resize(2 * vm.len(), 0.0);
                draw(u);
                for (m, p) in vm.iter_mut().zip(u.chunks(2)) {
                    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
                    let r = (-2.0 * (1.0 - p[0]).ln()).sqrt();
                    *m += r * (std::f32::consts::TAU * p[1]).cos();
                }
            }
        }
    }

    /// The parameter step from `stack_h = [h⁺; h⁻]` and `stack_v = [v; v⁻]` (b and c rows).
    fn apply(&mut self, wk: &mut Work, b: usize, c: usize) {
        let (nv, nh) = (self.visible, self.opts.hidden);
        let lr = self.opts.learning_rate as f32;
        let (pos, neg) = (lr / b as f32, -lr / c as f32);
        let (hp, hn) = wk.stack_h.split_at_mut(b * nh);
        map_in_place(hp, |x| x * pos);
        map_in_place(hn, |x| x * neg);
        let mut dhb = vec![0.0f32; nh];
        for row in wk.stack_h.chunks(nh) {
            dhb.iter_mut().zip(row).for_each(|(d, &h)| *d += h);
        }
        let mut dvb = vec![0.0f32; nv];
        for (r, row) in wk.stack_v.chunks(nv).enumerate() {
            let s = if r < b { pos } else { neg };
            dvb.iter_mut().zip(row).for_each(|(d, &x)| *d += s * x);
        }
        let decay = lr * self.opts.weight_decay as f32;
        let rows = b + c;
        let outer = |dst: &mut [f32], stack_h: &[f32], stack_v: &[f32]| {
            gemm(dst, nv, MatRef::row_major(stack_h, rows, nh).t(), MatRef::row_major(stack_v, rows, nv), true)
        };
        if self.opts.momentum > 0.0 {
            let mu = self.opts.momentum as f32;
            let [vw, vh, vv] = &mut self.vel;
            let w = &self.w;
            vectorized(
                #[inline(always)]
                || vw.iter_mut().zip(w).for_each(|(v, &w)| *v = mu * *v - decay * w),
            );
            outer(vw, &wk.stack_h, &wk.stack_v);
            for (p, vel, d) in [(&mut self.hb, vh, &dhb), (&mut self.vb, vv, &dvb)] {
                vel.iter_mut().zip(d).for_each(|(v, &d)| *v = mu * *v + d);
                p.iter_mut().zip(vel.iter()).for_each(|(p, &v)| *p += v);
            }
            let vw = &self.vel[0];
            vectorized(
                #[inline(always)]
                || self.w.iter_mut().zip(vw).for_each(|(w, &v)| *w += v),
            );
        } else {
            if decay > 0.0 {
                map_in_place(&mut self.w, |w| w * (1.0 - decay));
            }
            outer(&mut self.w, &wk.stack_h, &wk.stack_v);
            self.hb.iter_mut().zip(&dhb).for_each(|(p, &d)| *p += d);
            self.vb.iter_mut().zip(&dvb).for_each(|(p, &d)| *p += d);
        }
    }

    /// Adds the batch's pseudo-log-likelihood (one random bit a row) and reconstruction error,
    /// from its hidden pre-activations `pre = v Wᵀ + c` under the current weights.
    fn monitor(
        &self,
        v: &[f32],
        b: usize,
        pre: &[f32],
        mon: &mut Monitor,
        flip: &mut rand::rngs::SmallRng,
        vm: &mut Vec<f32>,
    ) {
        let nv = self.visible;
        if self.opts.visible_units == VisibleUnits::Bernoulli {
            let bits: Vec<usize> = (0..b).map(|_| flip.random_range(0..nv)).collect();
            mon.pll += self.pll_rows(v, pre, &bits).iter().sum::<f64>();
        }
        mon.sq_err += self.reconstruction_sq_err(v, b, pre, vm);
        mon.rows += b;
        mon.units += b * nv;
    }

    /// The visible units' means given hidden values `h` (`rows x hidden`) into `vm`: `h W + b`,
    /// through σ for Bernoulli units.
    fn visible_means(&self, h: &[f32], rows: usize, vm: &mut Vec<f32>) {
        affine(vm, h, rows, &self.w, self.opts.hidden, self.visible, &self.vb, false);
        if self.opts.visible_units == VisibleUnits::Bernoulli {
            map_in_place(vm, sigmoid);
        }
    }

    /// The summed squared error of the rows `v` against their mean-field reconstruction
    /// `p(v | σ(pre))`, from their hidden pre-activations `pre`; `vm` is scratch.
    fn reconstruction_sq_err(&self, v: &[f32], rows: usize, pre: &[f32], vm: &mut Vec<f32>) -> f64 {
        let mut h = pre.to_vec();
        map_in_place(&mut h, sigmoid);
        self.visible_means(&h, rows, vm);
        vm.iter().zip(v).map(|(&r, &x)| ((r - x) as f64).powi(2)).sum()
    }

    /// scikit-learn's pseudo-likelihood estimate per row, `V · log σ(F(ṽ) − F(v))` where `ṽ` is
    /// `v` with the bit `bits[r]` flipped (`1 − v`), from the rows' `pre = v Wᵀ + c`.
    fn pll_rows(&self, v: &[f32], pre: &[f32], bits: &[usize]) -> Vec<f64> {
        let (nv, nh) = (self.visible, self.opts.hidden);
        bits.iter()
            .enumerate()
            .map(|(r, &i)| {
                let x = v[r * nv + i];
                let delta = 1.0 - 2.0 * x;
                let row = &pre[r * nh..(r + 1) * nh];
                // F(ṽ) − F(v) = −δ b_i − Σ_j [softplus(pre_j + δ W_ji) − softplus(pre_j)]
                let mut diff = -(delta as f64) * self.vb[i] as f64;
                for (j, &p) in row.iter().enumerate() {
                    let q = p + delta * self.w[j * nv + i];
                    diff -= softplus_f64(q as f64) - softplus_f64(p as f64);
                }
                -(nv as f64) * softplus_f64(-diff)
            })
            .collect()
    }

    fn pre_hidden(&self, v: &[f32], n: usize) -> Vec<f32> {
        let mut pre = Vec::new();
        affine(&mut pre, v, n, &self.w, self.opts.hidden, self.visible, &self.hb, true);
        pre
    }

    /// The hidden units' probabilities `σ(x Wᵀ + c)`, `[n, hidden]` (scikit-learn's `transform`).
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let (n, v) = self.rows("Rbm.transform", x)?;
        let mut h = self.pre_hidden(&v, n);
        map_in_place(&mut h, sigmoid);
        Ok(Tensor::from_vec(h, [n, self.opts.hidden]))
    }

    /// The visible units' means given hidden values `h` (`[n, hidden]`): `σ(h W + b)` for
    /// Bernoulli units, `h W + b` for Gaussian ones.
    pub fn visible_mean(&self, h: &Tensor) -> Result<Tensor> {
        let nh = self.opts.hidden;
        if h.rank() != 2 || h.dims()[1] != nh {
            return Err(Error::invalid(format!(
                "Rbm.visible_mean: expected [samples, {nh}], got shape {:?}",
                h.dims()
            )));
        }
        let n = h.dims()[0];
        let mut vm = Vec::new();
        self.visible_means(&h.to_vec_f32(), n, &mut vm);
        Ok(Tensor::from_vec(vm, [n, self.visible]))
    }

    /// The free energy of each row, `[n]`: `−x·b − Σ_j softplus(x W_jᵀ + c_j)`, with
    /// `½‖x − b‖²` in place of `−x·b` for Gaussian units.
    pub fn free_energy(&self, x: &Tensor) -> Result<Tensor> {
        let (n, v) = self.rows("Rbm.free_energy", x)?;
        let pre = self.pre_hidden(&v, n);
        let (nv, nh) = (self.visible, self.opts.hidden);
        let fe = (0..n)
            .map(|r| {
                let xr = &v[r * nv..(r + 1) * nv];
                let vis: f64 = match self.opts.visible_units {
                    VisibleUnits::Bernoulli => {
                        -xr.iter().zip(&self.vb).map(|(&x, &b)| x as f64 * b as f64).sum::<f64>()
                    }
                    VisibleUnits::Gaussian => {
                        0.5 * xr.iter().zip(&self.vb).map(|(&x, &b)| ((x - b) as f64).powi(2)).sum::<f64>()
                    }
                };
                vis - pre[r * nh..(r + 1) * nh].iter().map(|&p| softplus_f64(p as f64)).sum::<f64>()
            })
            .collect();
        Ok(Tensor::from_vec_f64(fe, [n]))
    }

    /// The pseudo-likelihood estimate of each row with the bit to flip in each given
    /// (`flip[r] < visible`): `V · log σ(F(ṽ) − F(v))`, scikit-learn's `score_samples`.
    pub fn score_samples_at(&self, x: &Tensor, flip: &[usize]) -> Result<Tensor> {
        self.bernoulli_only("Rbm.score_samples")?;
        let (n, v) = self.rows("Rbm.score_samples", x)?;
        if flip.len() != n || flip.iter().any(|&i| i >= self.visible) {
            return Err(Error::invalid(format!(
                "Rbm.score_samples_at: {} bits to flip for {n} rows, each below {}",
                flip.len(),
                self.visible
            )));
        }
        let pre = self.pre_hidden(&v, n);
        Ok(Tensor::from_vec_f64(self.pll_rows(&v, &pre, flip), [n]))
    }

    /// [`Rbm::score_samples_at`] with one random bit a row.
    pub fn score_samples(&mut self, x: &Tensor) -> Result<Tensor> {
        let n = x.dims().first().copied().unwrap_or(0);
        let flip: Vec<usize> = (0..n).map(|_| self.rng.below(self.visible.max(1))).collect();
        self.score_samples_at(x, &flip)
    }

    /// The mean of [`Rbm::score_samples`] over the rows of `x`.
    pub fn pseudo_log_likelihood(&mut self, x: &Tensor) -> Result<f64> {
        let s = self.score_samples(x)?.to_vec_f64();
        Ok(s.iter().sum::<f64>() / s.len() as f64)
    }

    fn bernoulli_only(&self, what: &str) -> Result<()> {
        if self.opts.visible_units != VisibleUnits::Bernoulli {
            return Err(Error::invalid(format!(
                "{what}: the pseudo-likelihood is defined for Bernoulli visible units, this RBM's are Gaussian"
            )));
        }
        Ok(())
    }

    /// The mean squared error per visible unit of the mean-field reconstruction
    /// `p(v | σ(x Wᵀ + c))` of `x`.
    pub fn reconstruction_error(&self, x: &Tensor) -> Result<f64> {
        let (n, v) = self.rows("Rbm.reconstruction_error", x)?;
        let pre = self.pre_hidden(&v, n);
        Ok(self.reconstruction_sq_err(&v, n, &pre, &mut Vec::new()) / (n * self.visible) as f64)
    }

    /// `steps` steps of block Gibbs sampling from the visible values `v`: `h ~ p(h | v)`, then
    /// `v ~ p(v | h)`, each step. Returns the last visible samples (scikit-learn's `gibbs` is
    /// one step).
    pub fn gibbs(&mut self, v: &Tensor, steps: usize) -> Result<Tensor> {
        let (n, x) = self.rows("Rbm.gibbs", v)?;
        let mut x = x.into_owned();
        let mut stream = self.rng.stream();
        let mut draw = |u: &mut [f32]| u.iter_mut().for_each(|u| *u = stream.random::<f32>());
        let (nv, nh) = (self.visible, self.opts.hidden);
        let (mut h, mut u) = (Vec::new(), Vec::new());
        for _ in 0..steps {
            affine(&mut h, &x, n, &self.w, nh, nv, &self.hb, true);
            map_in_place(&mut h, sigmoid);
            u.resize(h.len(), 0.0);
            draw(&mut u);
            sample_in_place(&mut h, &u);
            affine(&mut x, &h, n, &self.w, nh, nv, &self.vb, false);
            self.sample_visible(&mut x, &mut u, &mut draw);
        }
        Ok(Tensor::from_vec(x, [n, nv]))
    }
}
