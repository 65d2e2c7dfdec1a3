//! Elementwise unary ops and activations. Each op is one `Unary` variant with its forward `f` and
//! its derivative `df` side by side; one generic path records them all.

use crate::autograd::{grads, record, Op};
use crate::dtype::Float;
use crate::storage::{with_dtype, Element, PAR_CHUNK, PAR_THRESHOLD};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// SELU constants (Klambauer et al. 2017), as in Keras.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Unary {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Square,
    Powf(f64),
    Clamp(f64, f64),
    /// `a * x + b`: scalar add/sub/mul/div in one op.
    Affine(f64, f64),
    Relu,
    LeakyRelu(f64),
    Elu(f64),
    Selu,
    Gelu,
    GeluTanh,
    Sigmoid,
    HardSigmoid,
    Tanh,
    Softplus,
    Softsign,
    Silu,
    Mish,
}

#[inline(always)]
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    // Stable on both tails (never exponentiates a large positive number), one exp, and
    // branch-free so the loop vectorises.
    let e = (-x.abs()).exp();
    let r = T::ONE / (T::ONE + e);
    if x >= T::ZERO {
        r
    } else {
        e * r
    }
}

#[inline(always)]
fn softplus<T: Float>(x: T) -> T {
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}

impl Unary {
    pub(crate) fn op(self) -> Op {
        match self {
            Unary::Neg => Op::Neg,
            Unary::Exp => Op::Exp,
            Unary::Log => Op::Log,
            Unary::Sqrt => Op::Sqrt,
            Unary::Abs => Op::Abs,
            Unary::Square => Op::Square,
            Unary::Powf(_) => Op::Powf,
            Unary::Clamp(..) => Op::Clamp,
            Unary::Affine(..) => Op::Affine,
            Unary::Relu => Op::Relu,
            Unary::LeakyRelu(_) => Op::LeakyRelu,
            Unary::Elu(_) => Op::Elu,
            Unary::Selu => Op::Selu,
            Unary::Gelu => Op::Gelu,
            Unary::GeluTanh => Op::GeluTanh,
            Unary::Sigmoid => Op::Sigmoid,
            Unary::HardSigmoid => Op::HardSigmoid,
            Unary::Tanh => Op::Tanh,
            Unary::Softplus => Op::Softplus,
            Unary::Softsign => Op::Softsign,
            Unary::Silu => Op::Silu,
            Unary::Mish => Op::Mish,
        }
    }

    /// The forward function.
    #[inline(always)]
    pub(crate) fn f<T: Float>(self, x: T) -> T {
        let c = T::from_f64;
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Square => x * x,
            Unary::Powf(e) => x.powf(c(e)),
            Unary::Clamp(lo, hi) => x.max(c(lo)).min(c(hi)),
            Unary::Affine(a, b) => c(a) * x + c(b),
            Unary::Relu => x.max(T::ZERO),
            // Branch-free, so the loop vectorises (the `if` form ran 5x slower over a conv
            // output); NaN maps to 0 as in `Relu`.
            Unary::LeakyRelu(a) => x.max(T::ZERO) + c(a) * x.min(T::ZERO),
            Unary::Elu(a) => {
                if x > T::ZERO {
                    x
                } else {
                    c(a) * (x.exp() - T::ONE)
                }
            }
            Unary::Selu => {
                if x > T::ZERO {
                    c(SELU_SCALE) * x
                } else {
                    c(SELU_SCALE * SELU_ALPHA) * (x.exp() - T::ONE)
                }
            }
            Unary::Gelu => c(0.5) * x * (T::ONE + (x * c(std::f64::consts::FRAC_1_SQRT_2)).erf()),
            Unary::GeluTanh => {
                let k = c((2.0 / std::f64::consts::PI).sqrt());
                c(0.5) * x * (T::ONE + (k * (x + c(0.044715) * x * x * x)).tanh())
            }
            Unary::Sigmoid => sigmoid(x),
            // Keras 3: relu6(x + 3) / 6.
            Unary::HardSigmoid => ((x + c(3.0)).max(T::ZERO).min(c(6.0))) / c(6.0),
            Unary::Tanh => x.tanh(),
            Unary::Softplus => softplus(x),
            Unary::Softsign => x / (T::ONE + x.abs()),
            Unary::Silu => x * sigmoid(x),
            Unary::Mish => x * softplus(x).tanh(),
        }
    }

    /// dy/dx, given the input `x` and the output `y`.
    #[inline(always)]
    pub(crate) fn df<T: Float>(self, x: T, y: T) -> T {
        let c = T::from_f64;
        match self {
            Unary::Neg => -T::ONE,
            Unary::Exp => y,
            Unary::Log => T::ONE / x,
            Unary::Sqrt => c(0.5) / y,
            Unary::Abs => {
                if x > T::ZERO {
                    T::ONE
                } else if x < T::ZERO {
                    -T::ONE
                } else {
                    T::ZERO
                }
            }
            Unary::Square => c(2.0) * x,
            Unary::Powf(e) => c(e) * x.powf(c(e - 1.0)),
            // PyTorch convention: gradient passes where lo <= x <= hi.
            Unary::Clamp(lo, hi) => {
                if x >= c(lo) && x <= c(hi) {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Unary::Affine(a, _) => c(a),
            Unary::Relu => {
                // From the output (y > 0 exactly when x > 0, NaN included), so a fused
                // bias + relu backward never rereads or recomputes its input.
                if y > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Unary::LeakyRelu(a) => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    c(a)
                }
            }
            Unary::Elu(a) => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    y + c(a)
                }
            }
            Unary::Selu => {
                if x > T::ZERO {
                    c(SELU_SCALE)
                } else {
                    y + c(SELU_SCALE * SELU_ALPHA)
                }
            }
            Unary::Gelu => {
                let cdf = c(0.5) * (T::ONE + (x * c(std::f64::consts::FRAC_1_SQRT_2)).erf());
                let pdf = (c(-0.5) * x * x).exp() * c(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                cdf + x * pdf
            }
            Unary::GeluTanh => {
                let k = c((2.0 / std::f64::consts::PI).sqrt());
                let inner = k * (x + c(0.044715) * x * x * x);
                let t = inner.tanh();
                c(0.5) * (T::ONE + t) + c(0.5) * x * (T::ONE - t * t) * k * (T::ONE + c(3.0 * 0.044715) * x * x)
            }
            Unary::Sigmoid => y * (T::ONE - y),
            Unary::HardSigmoid => {
                if x > c(-3.0) && x < c(3.0) {
                    c(1.0 / 6.0)
                } else {
                    T::ZERO
                }
            }
            Unary::Tanh => T::ONE - y * y,
            Unary::Softplus => sigmoid(x),
            Unary::Softsign => {
                let d = T::ONE + x.abs();
                T::ONE / (d * d)
            }
            Unary::Silu => {
                let s = sigmoid(x);
                s * (T::ONE + x * (T::ONE - s))
            }
            Unary::Mish => {
                let t = softplus(x).tanh();
                t + x * (T::ONE - t * t) * sigmoid(x)
            }
        }
    }
}

/// Runs `$body` with `$k` bound to a copy of `$u` whose variant is a compile-time constant in
/// each arm, so `$k.f(x)` and `$k.df(x, y)` inline to one branch-free expression per variant and
/// the surrounding loop vectorises (a `match` inside the loop would not). Each arm runs inside its
/// own [`vectorized`](crate::kernels::simd::vectorized) call with `$k` bound inside it, so the
/// variant is a constant in the AVX-compiled code too (a `$k` captured from outside would be a
/// runtime value there, leaving a jump table in the loop). Unit variants are `const` items: a
/// `let` binding is reloaded from the stack in every iteration once a closure's reference to it
/// escapes (to the parallel branch), which kept the same jump table.
macro_rules! dispatch_unary {
    ($u:expr, |$k:ident| $body:expr) => {
        match $u {
            Unary::Neg => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Neg;
                    $body
                },
            ),
            Unary::Exp => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Exp;
                    $body
                },
            ),
            Unary::Log => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Log;
                    $body
                },
            ),
            Unary::Sqrt => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Sqrt;
                    $body
                },
            ),
            Unary::Abs => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Abs;
                    $body
                },
            ),
            Unary::Square => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Square;
                    $body
                },
            ),
            Unary::Powf(e) => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    let $k = Unary::Powf(e);
                    $body
                },
            ),
            Unary::Clamp(lo, hi) => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    let $k = Unary::Clamp(lo, hi);
                    $body
                },
            ),
            Unary::Affine(a, b) => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    let $k = Unary::Affine(a, b);
                    $body
                },
            ),
            Unary::Relu => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Relu;
                    $body
                },
            ),
            Unary::LeakyRelu(a) => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    let $k = Unary::LeakyRelu(a);
                    $body
                },
            ),
            Unary::Elu(a) => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    let $k = Unary::Elu(a);
                    $body
                },
            ),
            Unary::Selu => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Selu;
                    $body
                },
            ),
            Unary::Gelu => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Gelu;
                    $body
                },
            ),
            Unary::GeluTanh => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::GeluTanh;
                    $body
                },
            ),
            Unary::Sigmoid => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Sigmoid;
                    $body
                },
            ),
            Unary::HardSigmoid => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::HardSigmoid;
                    $body
                },
            ),
            Unary::Tanh => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Tanh;
                    $body
                },
            ),
            Unary::Softplus => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Softplus;
                    $body
                },
            ),
            Unary::Softsign => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Softsign;
                    $body
                },
            ),
            Unary::Silu => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Silu;
                    $body
                },
            ),
            Unary::Mish => $crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    #[allow(non_upper_case_globals)]
                    const $k: Unary = Unary::Mish;
                    $body
                },
            ),
        }
    };
}
pub(crate) use dispatch_unary;

/// `out[i] = f(a[i])`, in parallel chunks when large.
///
/// `f` is a `move` closure passed by value, and the parallel branch is a separate function that
/// gets its own copy: the closure (and the op variant it holds) then never has its address taken
/// in the serial loop, so LLVM keeps it in registers, folds the variant's `match` and vectorises.
/// A shared reference escaping to rayon made it reload the variant from the stack in every
/// iteration.
#[inline(always)]
pub(crate) fn map<T: Element, F: Fn(T) -> T + Sync + Copy>(a: &[T], f: F) -> Vec<T> {
    if a.len() >= PAR_THRESHOLD {
        return par_map(a, f);
    }
    // A plain loop over a buffer rather than `extend`/`collect`: those are std functions
    // that are not inlined into `vectorized`, so they would stay baseline code.
    let mut out = crate::storage::overwritten::<T>(a.len());
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
    out
}

#[inline(never)]
fn par_map<T: Element, F: Fn(T) -> T + Sync + Copy>(a: &[T], f: F) -> Vec<T> {
    let mut out = crate::storage::overwritten::<T>(a.len());
    out.par_chunks_mut(PAR_CHUNK).zip(a.par_chunks(PAR_CHUNK)).for_each(|(o, a)| {
        crate::kernels::simd::vectorized(
            #[inline(always)]
            || {
                for (o, &a) in o.iter_mut().zip(a) {
                    *o = f(a);
                }
            },
        )
    });
    out
}

/// `out[i] = f(a[i], b[i], c[i])` over equal-length slices, in parallel chunks when large (see
/// [`map`] for why `f` is `Copy` and the parallel branch is separate).
#[inline(always)]
pub(crate) fn zip3<T: Element, F: Fn(T, T, T) -> T + Sync + Copy>(a: &[T], b: &[T], c: &[T], f: F) -> Vec<T> {
    if a.len() >= PAR_THRESHOLD {
        return par_zip3(a, b, c, f);
    }
    let mut out = crate::storage::overwritten::<T>(a.len());
    for (((o, &a), &b), &c) in out.iter_mut().zip(a).zip(b).zip(c) {
        *o = f(a, b, c);
    }
    out
}

#[inline(never)]
fn par_zip3<T: Element, F: Fn(T, T, T) -> T + Sync + Copy>(a: &[T], b: &[T], c: &[T], f: F) -> Vec<T> {
    let mut out = crate::storage::overwritten::<T>(a.len());
    out.par_chunks_mut(PAR_CHUNK)
        .zip(a.par_chunks(PAR_CHUNK))
        .zip(b.par_chunks(PAR_CHUNK).zip(c.par_chunks(PAR_CHUNK)))
        .for_each(|((o, a), (b, c))| {
            crate::kernels::simd::vectorized(
                #[inline(always)]
                || {
                    for i in 0..o.len() {
                        o[i] = f(a[i], b[i], c[i]);
                    }
                },
            )
        });
    out
}

impl Tensor {
    pub(crate) fn unary(&self, u: Unary) -> Tensor {
        let st = with_dtype!(self.dtype(), T => {
            T::wrap(dispatch_unary!(u, |k| map(self.data::<T>(), #[inline(always)] move |x| k.f(x))))
        });
        record(u.op(), st, self.shape().clone(), &[self], move |gy, y, xs| {
            let st = with_dtype!(gy.dtype(), T => T::wrap(dispatch_unary!(u, |k| {
                zip3(gy.data::<T>(), xs[0].data::<T>(), y.data::<T>(), #[inline(always)] move |g, x, y| g * k.df(x, y))
            })));
            grads![Some(Tensor::from_storage(st, gy.shape().clone()))]
        })
    }

    pub fn neg(&self) -> Tensor {
        self.unary(Unary::Neg)
    }
    pub fn exp(&self) -> Tensor {
        self.unary(Unary::Exp)
    }
    /// Natural logarithm.
    pub fn log(&self) -> Tensor {
        self.unary(Unary::Log)
    }
    pub fn sqrt(&self) -> Tensor {
        self.unary(Unary::Sqrt)
    }
    pub fn abs(&self) -> Tensor {
        self.unary(Unary::Abs)
    }
    pub fn square(&self) -> Tensor {
        self.unary(Unary::Square)
    }
    /// `x^e` for a scalar exponent.
    pub fn powf(&self, e: f64) -> Tensor {
        self.unary(Unary::Powf(e))
    }
    /// Limits values to `[lo, hi]`; the gradient passes where `lo <= x <= hi`.
    pub fn clamp(&self, lo: f64, hi: f64) -> Tensor {
        assert!(lo <= hi, "clamp: lo {lo} > hi {hi}");
        self.unary(Unary::Clamp(lo, hi))
    }
    /// `a * x + b`.
    pub fn affine(&self, a: f64, b: f64) -> Tensor {
        self.unary(Unary::Affine(a, b))
    }
    pub fn add_scalar(&self, b: f64) -> Tensor {
        self.affine(1.0, b)
    }
    pub fn mul_scalar(&self, a: f64) -> Tensor {
        self.affine(a, 0.0)
    }
    pub fn relu(&self) -> Tensor {
        self.unary(Unary::Relu)
    }
    /// Keras `leaky_relu` (default `negative_slope` 0.2 in Keras 3; pass it explicitly).
    pub fn leaky_relu(&self, negative_slope: f64) -> Tensor {
        self.unary(Unary::LeakyRelu(negative_slope))
    }
    pub fn elu(&self, alpha: f64) -> Tensor {
        self.unary(Unary::Elu(alpha))
    }
    pub fn selu(&self) -> Tensor {
        self.unary(Unary::Selu)
    }
    /// Exact GELU, `x * Phi(x)` (Keras `gelu(approximate=False)`).
    pub fn gelu(&self) -> Tensor {
        self.unary(Unary::Gelu)
    }
    /// The tanh approximation of GELU (Keras `gelu(approximate=True)`).
    pub fn gelu_tanh(&self) -> Tensor {
        self.unary(Unary::GeluTanh)
    }
    pub fn sigmoid(&self) -> Tensor {
        self.unary(Unary::Sigmoid)
    }
    /// Keras 3 `hard_sigmoid`: `relu6(x + 3) / 6`.
    pub fn hard_sigmoid(&self) -> Tensor {
        self.unary(Unary::HardSigmoid)
    }
    pub fn tanh(&self) -> Tensor {
        self.unary(Unary::Tanh)
    }
    pub fn softplus(&self) -> Tensor {
        self.unary(Unary::Softplus)
    }
    pub fn softsign(&self) -> Tensor {
        self.unary(Unary::Softsign)
    }
    /// `x * sigmoid(x)`, also called swish.
    pub fn silu(&self) -> Tensor {
        self.unary(Unary::Silu)
    }
    /// Alias of [`Tensor::silu`].
    pub fn swish(&self) -> Tensor {
        self.silu()
    }
    /// `x * tanh(softplus(x))`.
    pub fn mish(&self) -> Tensor {
        self.unary(Unary::Mish)
    }
}
