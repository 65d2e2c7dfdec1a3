//! Update rules, one per Keras optimizer, following Keras 3's formulas (epsilon placement
//! included). Each rule updates one variable in place from its gradient and its slot buffers.

use serde_json::{json, Value};
use sinew_tensor::runtime::vectorized;

/// One optimizer algorithm: how a variable moves given its gradient and state.
pub trait UpdateRule: Send + Sync {
    /// Keras class name (`Adam`).
    fn name(&self) -> &'static str;
    /// Number of state buffers per variable, each the size of the variable.
    fn slots(&self) -> usize;
    /// Initial value of every slot element.
    fn slot_init(&self) -> f32 {
        0.0
    }
    /// Updates `w` in place. `step` counts from 1; `lr` is the learning rate for this step. The
    /// update must be elementwise (element `i` of `w` depends only on element `i` of `g` and of
    /// each slot): the optimizer splits large variables into chunks updated in parallel.
    fn update(&self, step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]);
    /// The Keras config of the rule's own arguments.
    fn config(&self) -> Value;
    /// The momentum a one-cycle schedule cycles: SGD's momentum, the Adam family's `beta_1`;
    /// `None` for a rule without one (or SGD built without momentum, which keeps no velocity).
    fn momentum(&self) -> Option<f32> {
        None
    }
    /// Sets [`UpdateRule::momentum`] for the steps after; false when the rule has none.
    fn set_momentum(&mut self, _m: f32) -> bool {
        false
    }
}

/// Keras `SGD`: plain, with momentum, or Nesterov momentum.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub momentum: f32,
    pub nesterov: bool,
}

impl UpdateRule for Sgd {
    fn name(&self) -> &'static str {
        "SGD"
    }
    fn momentum(&self) -> Option<f32> {
        (self.momentum != 0.0).then_some(self.momentum)
    }
    fn set_momentum(&mut self, m: f32) -> bool {
        // Without momentum the rule keeps no velocity slot to carry it.
        if self.momentum == 0.0 || m == 0.0 {
            return false;
        }
        self.momentum = m;
        true
    }
    fn slots(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }
    fn update(&self, _step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        if self.momentum == 0.0 {
            vectorized(
                #[inline(always)]
                || w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g),
            );
            return;
        }
        let (mu, nesterov) = (self.momentum, self.nesterov);
        vectorized(
            #[inline(always)]
            || {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(slots[0].iter_mut()) {
                    *m = mu * *m - lr * g;
                    *w += if nesterov { mu * *m - lr * g } else { *m };
                }
            },
        );
    }
    fn config(&self) -> Value {
        json!({"momentum": self.momentum, "nesterov": self.nesterov})
    }
}

/// Keras `RMSprop` (rho 0.9, epsilon 1e-7 inside the square root, optional momentum, centered).
#[derive(Clone, Copy, Debug)]
pub struct RmsProp {
    pub rho: f32,
    pub momentum: f32,
    pub epsilon: f32,
    pub centered: bool,
}

impl UpdateRule for RmsProp {
    fn name(&self) -> &'static str {
        "RMSprop"
    }
    fn slots(&self) -> usize {
        3
    }
    fn update(&self, _step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let (v, rest) = slots.split_at_mut(1);
        let (ag, mom) = rest.split_at_mut(1);
        let rho = self.rho;
        for i in 0..w.len() {
            v[0][i] = rho * v[0][i] + (1.0 - rho) * g[i] * g[i];
            let denom = if self.centered {
                ag[0][i] = rho * ag[0][i] + (1.0 - rho) * g[i];
                v[0][i] - ag[0][i] * ag[0][i] + self.epsilon
            } else {
                v[0][i] + self.epsilon
            };
            let inc = lr * g[i] / denom.sqrt();
            if self.momentum > 0.0 {
                mom[0][i] = self.momentum * mom[0][i] + inc;
                w[i] -= mom[0][i];
            } else {
                w[i] -= inc;
            }
        }
    }
    fn config(&self) -> Value {
        json!({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
    }
}

/// Keras `Adam` (epsilon 1e-7 outside the square root, bias correction folded into the step),
/// optionally AMSGrad, and `AdamW` when `weight_decay` is set (decoupled, applied first).
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub amsgrad: bool,
    pub weight_decay: f32,
}

impl UpdateRule for Adam {
    fn name(&self) -> &'static str {
        if self.weight_decay > 0.0 {
            "AdamW"
        } else {
            "Adam"
        }
    }
    fn momentum(&self) -> Option<f32> {
        Some(self.beta_1)
    }
    fn set_momentum(&mut self, m: f32) -> bool {
        self.beta_1 = m;
        true
    }
    fn slots(&self) -> usize {
        3
    }
    fn update(&self, step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let t = step as i32;
        let alpha = lr * (1.0 - self.beta_2.powi(t)).sqrt() / (1.0 - self.beta_1.powi(t));
        let [m, v, vhat] = slots else { panic!("Adam: expected 3 slots, got {}", slots.len()) };
        let n = w.len();
        // Equal-length slices so the loop has no bounds checks and vectorises.
        let (g, m, v, vhat) = (&g[..n], &mut m[..n], &mut v[..n], &mut vhat[..n]);
        let (b1, b2, eps, wd, ams) = (self.beta_1, self.beta_2, self.epsilon, self.weight_decay, self.amsgrad);
        // One loop per case, no branch inside: a conditional store (vhat) or a decay branch in
        // the loop kept it scalar. Each element's arithmetic is unchanged by the split.
        let w = &mut w[..n];
        vectorized(
            #[inline(always)]
            || {
                if wd > 0.0 {
                    for wi in w.iter_mut() {
                        *wi -= *wi * wd * lr;
                    }
                }
                if ams {
                    for i in 0..n {
                        m[i] += (g[i] - m[i]) * (1.0 - b1);
                        v[i] += (g[i] * g[i] - v[i]) * (1.0 - b2);
                        vhat[i] = vhat[i].max(v[i]);
                        w[i] -= m[i] * alpha / (vhat[i].sqrt() + eps);
                    }
                } else {
                    for i in 0..n {
                        m[i] += (g[i] - m[i]) * (1.0 - b1);
                        v[i] += (g[i] * g[i] - v[i]) * (1.0 - b2);
                        w[i] -= m[i] * alpha / (v[i].sqrt() + eps);
                    }
                }
            },
        );
    }
    fn config(&self) -> Value {
        json!({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad, "weight_decay": self.weight_decay})
    }
}

/// Keras `Adagrad` (initial accumulator 0.1, epsilon 1e-7 inside the root).
#[derive(Clone, Copy, Debug)]
pub struct Adagrad {
    pub initial_accumulator_value: f32,
    pub epsilon: f32,
}

impl UpdateRule for Adagrad {
    fn name(&self) -> &'static str {
        "Adagrad"
    }
    fn slots(&self) -> usize {
        1
    }
    fn slot_init(&self) -> f32 {
        self.initial_accumulator_value
    }
    fn update(&self, _step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        for ((w, &g), a) in w.iter_mut().zip(g).zip(slots[0].iter_mut()) {
            *a += g * g;
            *w -= lr * g / (*a + self.epsilon).sqrt();
        }
    }
    fn config(&self) -> Value {
        json!({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
    }
}

/// Keras `Adadelta` (rho 0.95, epsilon 1e-7; Keras 3 keeps a learning rate, default 0.001).
#[derive(Clone, Copy, Debug)]
pub struct Adadelta {
    pub rho: f32,
    pub epsilon: f32,
}

impl UpdateRule for Adadelta {
    fn name(&self) -> &'static str {
        "Adadelta"
    }
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, _step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let (ag, ad) = slots.split_at_mut(1);
        let (rho, eps) = (self.rho, self.epsilon);
        for i in 0..w.len() {
            ag[0][i] = rho * ag[0][i] + (1.0 - rho) * g[i] * g[i];
            let delta = -(ad[0][i] + eps).sqrt() * g[i] / (ag[0][i] + eps).sqrt();
            ad[0][i] = rho * ad[0][i] + (1.0 - rho) * delta * delta;
            w[i] += lr * delta;
        }
    }
    fn config(&self) -> Value {
        json!({"rho": self.rho, "epsilon": self.epsilon})
    }
}

/// Keras `Adamax`: Adam with the infinity norm.
#[derive(Clone, Copy, Debug)]
pub struct Adamax {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

impl UpdateRule for Adamax {
    fn name(&self) -> &'static str {
        "Adamax"
    }
    fn momentum(&self) -> Option<f32> {
        Some(self.beta_1)
    }
    fn set_momentum(&mut self, m: f32) -> bool {
        self.beta_1 = m;
        true
    }
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let (m, u) = slots.split_at_mut(1);
        let corr = 1.0 - self.beta_1.powi(step as i32);
        for i in 0..w.len() {
            m[0][i] += (g[i] - m[0][i]) * (1.0 - self.beta_1);
            u[0][i] = (self.beta_2 * u[0][i]).max(g[i].abs());
            w[i] -= lr * m[0][i] / (corr * (u[0][i] + self.epsilon));
        }
    }
    fn config(&self) -> Value {
        json!({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
    }
}

/// Keras 3 `Nadam`: Adam with Nesterov momentum and the `beta_1 * (1 - 0.5 * 0.96^t)` schedule.
#[derive(Clone, Copy, Debug)]
pub struct Nadam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

impl UpdateRule for Nadam {
    fn name(&self) -> &'static str {
        "Nadam"
    }
    fn momentum(&self) -> Option<f32> {
        Some(self.beta_1)
    }
    fn set_momentum(&mut self, m: f32) -> bool {
        self.beta_1 = m;
        true
    }
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        // The momentum-schedule product over all past steps, recomputed (it is cheap) rather than
        // carried, so the rule stays stateless between steps apart from its slots.
        let b1 = self.beta_1 as f64;
        let u = |t: u64| b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64));
        let u_product_t: f64 = (1..=step).map(u).product();
        let (u_t, u_t1) = (u(step), u(step + 1));
        let u_product_t1 = u_product_t * u_t1;
        let b2_pow = (self.beta_2 as f64).powi(step as i32);
        let (m, v) = slots.split_at_mut(1);
        for i in 0..w.len() {
            m[0][i] += (g[i] - m[0][i]) * (1.0 - self.beta_1);
            v[0][i] += (g[i] * g[i] - v[0][i]) * (1.0 - self.beta_2);
            let m_hat = u_t1 * m[0][i] as f64 / (1.0 - u_product_t1) + (1.0 - u_t) * g[i] as f64 / (1.0 - u_product_t);
            let v_hat = v[0][i] as f64 / (1.0 - b2_pow);
            w[i] -= (m_hat * lr as f64 / (v_hat.sqrt() + self.epsilon as f64)) as f32;
        }
    }
    fn config(&self) -> Value {
        json!({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
    }
}

/// AdaMod (Ding et al. 2019, "An Adaptive and Momental Bound Method for Stochastic Learning"):
/// Adam whose per-element step size `eta = lr / (sqrt(v_hat) + eps)` is capped by its own
/// exponential moving average `s = beta_3 * s + (1 - beta_3) * eta`.
#[derive(Clone, Copy, Debug)]
pub struct AdaMod {
    pub beta_1: f32,
    pub beta_2: f32,
    pub beta_3: f32,
    pub epsilon: f32,
}

impl UpdateRule for AdaMod {
    fn name(&self) -> &'static str {
        "AdaMod"
    }
    fn momentum(&self) -> Option<f32> {
        Some(self.beta_1)
    }
    fn set_momentum(&mut self, m: f32) -> bool {
        self.beta_1 = m;
        true
    }
    fn slots(&self) -> usize {
        3
    }
    fn update(&self, step: u64, lr: f32, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let t = step as i32;
        let (c1, c2) = (1.0 - self.beta_1.powi(t), 1.0 - self.beta_2.powi(t));
        let (m, rest) = slots.split_at_mut(1);
        let (v, s) = rest.split_at_mut(1);
        for i in 0..w.len() {
            m[0][i] = self.beta_1 * m[0][i] + (1.0 - self.beta_1) * g[i];
            v[0][i] = self.beta_2 * v[0][i] + (1.0 - self.beta_2) * g[i] * g[i];
            let (m_hat, v_hat) = (m[0][i] / c1, v[0][i] / c2);
            let eta = lr / (v_hat.sqrt() + self.epsilon);
            s[0][i] = self.beta_3 * s[0][i] + (1.0 - self.beta_3) * eta;
            w[i] -= eta.min(s[0][i]) * m_hat;
        }
    }
    fn config(&self) -> Value {
        json!({"beta_1": self.beta_1, "beta_2": self.beta_2, "beta_3": self.beta_3, "epsilon": self.epsilon})
    }
}
