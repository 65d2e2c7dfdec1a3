//! Softmax, log-softmax, the fused softmax cross-entropies, and fused bias + activation.

use crate::activation::Activation;
use crate::autograd::{grads, record, Op};
use crate::dtype::Float;
use crate::kernels::simd::vectorized;
use crate::ops::unary::{dispatch_unary, Unary};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element, PAR_CHUNK, PAR_THRESHOLD};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Applies `f(row_in, row_out)` to each `[len]` lane of `[outer, len, inner]` data, gathering a
/// strided lane into a contiguous buffer when `inner > 1`.
fn per_lane<T: Element>(x: &[T], outer: usize, len: usize, inner: usize, f: impl Fn(&[T], &mut [T]) + Sync) -> Vec<T> {
    let mut out = crate::storage::zeroed::<T>(x.len());
    if inner == 1 {
        if x.len() >= PAR_THRESHOLD {
            out.par_chunks_mut(len).zip(x.par_chunks(len)).for_each(|(o, r)| f(r, o));
        } else {
            out.chunks_mut(len).zip(x.chunks(len)).for_each(|(o, r)| f(r, o));
        }
        return out;
    }
    let mut lane = crate::storage::zeroed::<T>(len);
    let mut res = crate::storage::zeroed::<T>(len);
    for o in 0..outer {
        for i in 0..inner {
            for l in 0..len {
                lane[l] = x[(o * len + l) * inner + i];
            }
            f(&lane, &mut res);
            for l in 0..len {
                out[(o * len + l) * inner + i] = res[l];
            }
        }
    }
    out
}

/// `out = log_softmax(row)`, stable: subtracts the row max first.
fn log_softmax_row<T: Float>(r: &[T], o: &mut [T]) {
    let m = r.iter().fold(T::NEG_INFINITY, |a, &b| a.max(b));
    let m = if m.to_f64().is_finite() { m } else { T::ZERO };
    let mut s = T::ZERO;
    for &v in r {
        s += (v - m).exp();
    }
    let lse = m + s.ln();
    for (o, &v) in o.iter_mut().zip(r) {
        *o = v - lse;
    }
}

fn softmax_row<T: Float>(r: &[T], o: &mut [T]) {
    let m = r.iter().fold(T::NEG_INFINITY, |a, &b| a.max(b));
    let mut s = T::ZERO;
    for (o, &v) in o.iter_mut().zip(r) {
        *o = (v - m).exp();
        s += *o;
    }
    let inv = T::ONE / s;
    o.iter_mut().for_each(|o| *o *= inv);
}

/// Row-wise map over `[rows, c]` data: `out_row = f(row index, out_row)` for each row, in
/// parallel blocks of rows when large. `f` writes the whole output row.
#[inline(always)]
fn rows_out<T: Element, F: Fn(usize, &mut [T]) + Sync + Copy>(n: usize, c: usize, f: F) -> Vec<T> {
    if c == 0 || n == 0 {
        return crate::storage::overwritten::<T>(n);
    }
    if n >= PAR_THRESHOLD {
        return par_rows_out(n, c, f);
    }
    // Serial branch apart from the parallel one, with `f` by value: see `unary::map`. `f` writes
    // every element of its row.
    let mut out = crate::storage::overwritten::<T>(n);
    for (r, orow) in out.chunks_mut(c).enumerate() {
        f(r, orow);
    }
    out
}

#[inline(never)]
fn par_rows_out<T: Element, F: Fn(usize, &mut [T]) + Sync + Copy>(n: usize, c: usize, f: F) -> Vec<T> {
    let mut out = crate::storage::overwritten::<T>(n);
    let rows_per = (PAR_CHUNK / c).max(1);
    out.par_chunks_mut(rows_per * c).enumerate().for_each(|(blk, o)| {
        vectorized(
            #[inline(always)]
            || {
                for (r, orow) in o.chunks_mut(c).enumerate() {
                    f(blk * rows_per + r, orow);
                }
            },
        )
    });
    out
}

impl Tensor {
    /// Softmax along `axis`, stable for large inputs.
    pub fn softmax(&self, axis: isize) -> Tensor {
        let a = self.shape().axis(axis, "softmax");
        let (outer, len, inner) = self.shape().split_at_axis(a);
        let st = with_dtype!(self.dtype(), T => T::wrap(per_lane(self.data::<T>(), outer, len, inner, softmax_row)));
        record(Op::Softmax, st, self.shape().clone(), &[self], move |gy, y, _| {
            // gx = y * (gy - sum(gy * y))
            let s = gy.mul(y).sum(&[a as isize], true);
            grads![Some(y.mul(&gy.sub(&s)))]
        })
    }
    /// Log-softmax along `axis`: `x - logsumexp(x)`, stable.
    pub fn log_softmax(&self, axis: isize) -> Tensor {
        let a = self.shape().axis(axis, "log_softmax");
        let (outer, len, inner) = self.shape().split_at_axis(a);
        let st =
            with_dtype!(self.dtype(), T => T::wrap(per_lane(self.data::<T>(), outer, len, inner, log_softmax_row)));
        record(Op::LogSoftmax, st, self.shape().clone(), &[self], move |gy, y, _| {
            // gx = gy - exp(y) * sum(gy)
            let s = gy.sum(&[a as isize], true);
            grads![Some(gy.sub(&y.exp().mul(&s)))]
        })
    }

    /// Per-row cross-entropy between `targets` (probabilities, same shape) and
    /// `softmax(self)` along the last axis: `-sum(t * log_softmax(x))`, fused. Shape `[..]` (the
    /// last axis removed).
    pub fn softmax_cross_entropy(&self, targets: &Tensor) -> Tensor {
        assert!(
            self.shape() == targets.shape(),
            "softmax_cross_entropy: logits {:?} and targets {:?} differ",
            self.shape(),
            targets.shape()
        );
        assert!(self.rank() >= 1, "softmax_cross_entropy: logits must have a class axis, got shape {:?}", self.shape());
        let c = self.dims()[self.rank() - 1];
        let rows = self.numel() / c.max(1);
        let out_shape = Shape::new(&self.dims()[..self.rank() - 1]);
        let (st, lsm) = with_dtype!(self.dtype(), T => {
            let lsm = per_lane(self.data::<T>(), rows, c, 1, log_softmax_row);
            let t = targets.data::<T>();
            let loss: Vec<T> = (0..rows).map(|r| {
                let mut s = T::ZERO;
                for j in 0..c { s -= t[r * c + j] * lsm[r * c + j]; }
                s
            }).collect();
            (T::wrap(loss), Tensor::from_storage(T::wrap(lsm), self.shape().clone()))
        });
        record(Op::SoftmaxCrossEntropy, st, out_shape, &[self, targets], move |gy, _, xs| {
            let g = gy.unsqueeze(-1);
            let t = &xs[1];
            // d/dx = gy * (softmax * sum(t) - t); d/dt = -gy * log_softmax
            let gx = xs[0].requires_grad().then(|| g.mul(&lsm.exp().mul(&t.sum(&[-1], true)).sub(t)));
            let gt = t.requires_grad().then(|| g.mul(&lsm).neg());
            grads![gx, gt]
        })
    }

    /// Per-row cross-entropy of integer class `labels` under `softmax(self)` along the last
    /// axis (log-softmax + NLL, fused). `self` is `[n, classes]`; the result is `[n]`.
    pub fn sparse_softmax_cross_entropy(&self, labels: &[usize]) -> Tensor {
        assert!(self.rank() == 2, "sparse_softmax_cross_entropy: logits must be [n, classes], got {:?}", self.shape());
        let (n, c) = (self.dims()[0], self.dims()[1]);
        assert!(
            labels.len() == n,
            "sparse_softmax_cross_entropy: {} labels for logits of shape {:?}",
            labels.len(),
            self.shape()
        );
        if let Some(&bad) = labels.iter().find(|&&l| l >= c) {
            panic!("sparse_softmax_cross_entropy: label {bad} is out of range for {c} classes");
        }
        let labels = labels.to_vec();
        let (st, lsm) = with_dtype!(self.dtype(), T => {
            let lsm = per_lane(self.data::<T>(), n, c, 1, log_softmax_row);
            let loss: Vec<T> = labels.iter().enumerate().map(|(r, &l)| -lsm[r * c + l]).collect();
            (T::wrap(loss), T::wrap(lsm))
        });
        record(Op::SparseSoftmaxCrossEntropy, st, Shape::new(&[n]), &[self], move |gy, _, _| {
            let st = with_dtype!(gy.dtype(), T => {
                let lsm = T::view(&lsm);
                let g = gy.data::<T>();
                let mut out: Vec<T> = lsm.iter().map(|&v| Float::exp(v)).collect();
                for (r, &l) in labels.iter().enumerate() {
                    out[r * c + l] -= T::ONE;
                    out[r * c..(r + 1) * c].iter_mut().for_each(|v| *v *= g[r]);
                }
                T::wrap(out)
            });
            grads![Some(Tensor::from_storage(st, Shape::new(&[n, c])))]
        })
    }

    /// Elementwise binary cross-entropy of `targets` under `sigmoid(self)`, from the logits in one
    /// stable pass: `max(x, 0) - x * t + log(1 + exp(-|x|))`. Same shape as the inputs.
    pub fn sigmoid_cross_entropy(&self, targets: &Tensor) -> Tensor {
        assert!(
            self.shape() == targets.shape(),
            "sigmoid_cross_entropy: logits {:?} and targets {:?} differ",
            self.shape(),
            targets.shape()
        );
        assert!(
            self.dtype() == targets.dtype(),
            "sigmoid_cross_entropy: dtypes differ: {:?} vs {:?}",
            self.dtype(),
            targets.dtype()
        );
        let st = with_dtype!(self.dtype(), T => {
            let (x, t) = (self.data::<T>(), targets.data::<T>());
            T::wrap(vectorized(#[inline(always)] || {
                let mut out = crate::storage::overwritten::<T>(x.len());
                for ((o, &x), &t) in out.iter_mut().zip(x).zip(t) {
                    *o = x.max(T::ZERO) - x * t + Float::ln_1p(Float::exp(-x.abs()));
                }
                out
            }))
        });
        record(Op::SigmoidCrossEntropy, st, self.shape().clone(), &[self, targets], |gy, _, xs| {
            let (x, t) = (&xs[0], &xs[1]);
            // d/dx = sigmoid(x) - t; d/dt = -x
            let gx = x.requires_grad().then(|| {
                let st = with_dtype!(gy.dtype(), T => {
                    let (xv, tv, g) = (x.data::<T>(), t.data::<T>(), gy.data::<T>());
                    T::wrap(vectorized(#[inline(always)] || {
                        let mut out = crate::storage::overwritten::<T>(xv.len());
                        for (((o, &x), &t), &g) in out.iter_mut().zip(xv).zip(tv).zip(g) {
                            *o = g * (crate::ops::unary::sigmoid(x) - t);
                        }
                        out
                    }))
                });
                Tensor::from_storage(st, x.shape().clone())
            });
            let gt = t.requires_grad().then(|| gy.mul(x).neg());
            grads![gx, gt]
        })
    }

    /// Applies a Keras activation (softmax over the last axis).
    pub fn activation(&self, act: Activation) -> Tensor {
        match (act, act.unary()) {
            (Activation::Softmax, _) => self.softmax(-1),
            (_, None) => self.clone(),
            (_, Some(u)) => self.unary(u),
        }
    }

    /// `act(self + bias)` with `bias` broadcast along the last axis, in one pass (the Dense and
    /// Conv epilogue). `bias` has shape `[channels]`. Softmax, which is not elementwise, runs
    /// after the fused bias.
    pub fn bias_act(&self, bias: &Tensor, act: Activation) -> Tensor {
        if act == Activation::Softmax {
            return self.bias_act(bias, Activation::Linear).softmax(-1);
        }
        let c = *self.dims().last().unwrap_or_else(|| panic!("bias_act: input must have a channel axis, got a scalar"));
        assert!(
            bias.dims() == [c],
            "bias_act: bias shape {:?} does not match the last axis of {:?}",
            bias.shape(),
            self.shape()
        );
        assert!(bias.dtype() == self.dtype(), "bias_act: dtypes differ: {:?} vs {:?}", self.dtype(), bias.dtype());
        // Linear is the identity affine map, so every activation takes the same fused path.
        let linear = act.unary().is_none();
        let u = act.unary().unwrap_or(Unary::Affine(1.0, 0.0));
        // dispatch_unary! runs each variant's loop in its own `vectorized` call.
        let st = with_dtype!(self.dtype(), T => {
            let (b, x) = (bias.data::<T>(), self.data::<T>());
            if linear {
                // A plain add: the identity affine map would convert its f64 coefficients per
                // element, which kept this loop scalar (a tenth of a char-level GRU step).
                T::wrap(vectorized(#[inline(always)] || rows_out(x.len(), c, #[inline(always)] move |r, o: &mut [T]| {
                    let (xr, b) = (&x[r * c..(r + 1) * c], &b[..c]);
                    let o = &mut o[..c];
                    for j in 0..c {
                        o[j] = xr[j] + b[j];
                    }
                })))
            } else {
            T::wrap(dispatch_unary!(u, |k| rows_out(x.len(), c, #[inline(always)] move |r, o: &mut [T]| {
                // Equal-length slices and an index loop: LLVM drops the bounds checks and
                // vectorises (a chain of zips did not).
                let (xr, b) = (&x[r * c..(r + 1) * c], &b[..c]);
                let o = &mut o[..c];
                for j in 0..c {
                    o[j] = k.f(xr[j] + b[j]);
                }
            })))
            }
        });
        record(Op::BiasAct, st, self.shape().clone(), &[self, bias], move |gy, y, xs| {
            let gz = if linear {
                gy.clone()
            } else {
                // z = x + b is recomputed rather than saved: one add is cheaper than a buffer.
                let st = with_dtype!(gy.dtype(), T => {
                    let (b, x, g, yv) = (xs[1].data::<T>(), xs[0].data::<T>(), gy.data::<T>(), y.data::<T>());
                    T::wrap(dispatch_unary!(u, |k| rows_out(x.len(), c, #[inline(always)] move |r, o: &mut [T]| {
                        let s = r * c..(r + 1) * c;
                        let (xr, gr, yr, b) = (&x[s.clone()], &g[s.clone()], &yv[s], &b[..c]);
                        let o = &mut o[..c];
                        for j in 0..c {
                            o[j] = gr[j] * k.df(xr[j] + b[j], yr[j]);
                        }
                    })))
                });
                Tensor::from_storage(st, gy.shape().clone())
            };
            let gb = xs[1].requires_grad().then(|| gz.reshape([gz.numel() / c.max(1), c]).sum(&[0], false));
            grads![Some(gz), gb]
        })
    }
}
