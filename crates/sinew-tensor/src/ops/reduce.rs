//! Reductions along any set of axes, with `keepdims`.

use crate::autograd::{grads, no_grad, record, record_tensor, Op};
use crate::dtype::Float;
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;
use rayon::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Red {
    Sum,
    Max,
    Min,
}

/// Reduces `[outer, len, inner]` along the middle axis into `[outer, inner]`.
fn reduce_axis<T: Element>(x: &[T], outer: usize, len: usize, inner: usize, r: Red) -> Vec<T> {
    let init = match r {
        Red::Sum => T::ZERO,
        Red::Max => T::NEG_INFINITY,
        Red::Min => T::INFINITY,
    };
    let mut out = vec![init; outer * inner];
    let body = |o: usize, acc: &mut [T]| {
        let base = &x[o * len * inner..(o + 1) * len * inner];
        if inner == 1 {
            // Contiguous reduction: several accumulators keep the FP pipeline busy.
            let v = &mut acc[0];
            match r {
                Red::Sum => {
                    let mut p = [T::ZERO; 8];
                    let chunks = base.chunks_exact(8);
                    let tail = chunks.remainder();
                    for c in chunks {
                        for k in 0..8 {
                            p[k] += c[k];
                        }
                    }
                    let mut s = T::ZERO;
                    for k in p {
                        s += k;
                    }
                    for &t in tail {
                        s += t;
                    }
                    *v = s;
                }
                Red::Max => base.iter().for_each(|&t| *v = if t.is_nan() || t > *v { t } else { *v }),
                Red::Min => base.iter().for_each(|&t| *v = if t.is_nan() || t < *v { t } else { *v }),
            }
            return;
        }
        for l in 0..len {
            let row = &base[l * inner..(l + 1) * inner];
            match r {
                Red::Sum => acc.iter_mut().zip(row).for_each(|(a, &t)| *a += t),
                Red::Max => acc.iter_mut().zip(row).for_each(|(a, &t)| {
                    if t.is_nan() || t > *a {
                        *a = t
                    }
                }),
                Red::Min => acc.iter_mut().zip(row).for_each(|(a, &t)| {
                    if t.is_nan() || t < *a {
                        *a = t
                    }
                }),
            }
        }
    };
    // NaN, once taken, must stick: the comparisons above never replace a NaN accumulator with a
    // number, because `number > NaN` is false.
    if x.len() >= crate::storage::PAR_THRESHOLD && outer > 1 {
        out.par_chunks_mut(inner.max(1)).enumerate().for_each(|(o, acc)| body(o, acc));
    } else {
        for (o, acc) in out.chunks_mut(inner.max(1)).enumerate() {
            body(o, acc);
        }
    }
    out
}

/// Sorted, deduplicated axes; an empty list means every axis.
fn norm_axes(shape: &Shape, axes: &[isize], op: &str) -> Vec<usize> {
    let mut v: Vec<usize> =
        if axes.is_empty() { (0..shape.rank()).collect() } else { axes.iter().map(|&a| shape.axis(a, op)).collect() };
    v.sort_unstable();
    v.dedup();
    v
}

fn kept_shape(shape: &Shape, axes: &[usize]) -> Shape {
    Shape::from(
        shape.dims().iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect::<Vec<_>>(),
    )
}

fn dropped_shape(shape: &Shape, axes: &[usize]) -> Shape {
    Shape::from(shape.dims().iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect::<Vec<_>>())
}

/// Raw reduction (no autograd) to the keepdims shape.
fn reduce_raw(x: &Tensor, axes: &[usize], r: Red) -> Tensor {
    let mut shape = x.shape().clone();
    let mut cur = x.detach();
    for &a in axes.iter().rev() {
        let (outer, len, inner) = shape.split_at_axis(a);
        let st = with_dtype!(cur.dtype(), T => T::wrap(reduce_axis(cur.data::<T>(), outer, len, inner, r)));
        shape.0[a] = 1;
        cur = Tensor::from_storage(st, shape.clone());
    }
    cur
}

impl Tensor {
    fn reduce(&self, axes: &[isize], keepdims: bool, r: Red, op: Op) -> Tensor {
        let ax = norm_axes(self.shape(), axes, op.name());
        let kept = kept_shape(self.shape(), &ax);
        let out_shape = if keepdims { kept.clone() } else { dropped_shape(self.shape(), &ax) };
        for &a in &ax {
            if r != Red::Sum && self.dims()[a] == 0 {
                panic!("{}: cannot reduce over empty axis {a} of shape {:?}", op.name(), self.shape());
            }
        }
        let raw = reduce_raw(self, &ax, r);
        let kept2 = kept.clone();
        record_tensor(op, raw.reshape(out_shape.dims()), &[self], move |gy, y, xs| {
            let x = &xs[0];
            let g = gy.reshape(kept2.dims()).broadcast_to(x.shape());
            let g = match r {
                Red::Sum => g,
                Red::Max | Red::Min => {
                    // Ties share the gradient evenly.
                    let mask = x.eq(&y.reshape(kept2.dims()));
                    let ax: Vec<isize> = (0..x.rank())
                        .filter(|&i| kept2.dims()[i] == 1 && x.dims()[i] != 1)
                        .map(|i| i as isize)
                        .collect();
                    let cnt = mask.sum(&ax, true);
                    g.mul(&mask).div(&cnt)
                }
            };
            grads![Some(g)]
        })
    }

    /// Sum over `axes` (all axes when empty). Negative axes count from the end.
    pub fn sum(&self, axes: &[isize], keepdims: bool) -> Tensor {
        self.reduce(axes, keepdims, Red::Sum, Op::Sum)
    }
    /// Sum of every element, as a 0-d tensor.
    pub fn sum_all(&self) -> Tensor {
        self.sum(&[], false)
    }
    pub fn max(&self, axes: &[isize], keepdims: bool) -> Tensor {
        self.reduce(axes, keepdims, Red::Max, Op::Max)
    }
    pub fn min(&self, axes: &[isize], keepdims: bool) -> Tensor {
        self.reduce(axes, keepdims, Red::Min, Op::Min)
    }
    /// Mean over `axes` (all axes when empty).
    pub fn mean(&self, axes: &[isize], keepdims: bool) -> Tensor {
        let ax = norm_axes(self.shape(), axes, "mean");
        let count: usize = ax.iter().map(|&a| self.dims()[a]).product();
        let s = reduce_raw(self, &ax, Red::Sum);
        let inv = 1.0 / count as f64;
        let kept = kept_shape(self.shape(), &ax);
        let out_shape = if keepdims { kept.clone() } else { dropped_shape(self.shape(), &ax) };
        let st = with_dtype!(self.dtype(), T => T::wrap(s.data::<T>().iter().map(|&v| v * T::from_f64(inv)).collect()));
        record(Op::Mean, st, out_shape, &[self], move |gy, _, xs| {
            grads![Some(gy.reshape(kept.dims()).mul_scalar(inv).broadcast_to(xs[0].shape()))]
        })
    }
    pub fn mean_all(&self) -> Tensor {
        self.mean(&[], false)
    }
    /// Population variance (Keras `ops.var`), over `axes`.
    pub fn var(&self, axes: &[isize], keepdims: bool) -> Tensor {
        let m = self.mean(axes, true);
        self.sub(&m).square().mean(axes, keepdims)
    }
    /// Population standard deviation (Keras `ops.std`).
    pub fn std(&self, axes: &[isize], keepdims: bool) -> Tensor {
        self.var(axes, keepdims).sqrt()
    }
    /// This tensor summed element by element over the replicas of the data-parallel step running
    /// on this thread ([`crate::runtime::replicas`]); every replica gets the same result. Itself
    /// when the step runs on one process. What synchronised batch statistics are made of.
    ///
    /// Backward: every replica's output depends on every replica's input, so the gradient of
    /// the step's objective (the replicas' losses weighted by their shares) for this replica's
    /// input is the share-weighted sum of the output gradients over the replicas. It is divided
    /// by this replica's own share, because the data-parallel driver multiplies everything this
    /// replica's backward produces by that share. Every replica runs this backward, in the same
    /// order, so the sums pair up.
    pub fn replica_sum(&self) -> Tensor {
        let Some(reps) = crate::runtime::replicas() else { return self.clone() };
        let mut buf = self.to_vec_f64();
        reps.sum(&mut buf);
        let y = Tensor::from_vec_f64(buf, self.shape().clone()).to_dtype(self.dtype());
        record_tensor(Op::ReplicaSum, y, &[self], move |gy, _, _| {
            let share = reps.share();
            let mut g: Vec<f64> = gy.to_vec_f64().iter().map(|v| v * share).collect();
            reps.sum(&mut g);
            g.iter_mut().for_each(|v| *v /= share);
            grads![Some(Tensor::from_vec_f64(g, gy.shape().clone()).to_dtype(gy.dtype()))]
        })
    }
    /// `log(sum(exp(x)))` over `axes`, computed stably.
    pub fn logsumexp(&self, axes: &[isize], keepdims: bool) -> Tensor {
        let ax = norm_axes(self.shape(), axes, "logsumexp");
        let kept = kept_shape(self.shape(), &ax);
        let out_shape = if keepdims { kept.clone() } else { dropped_shape(self.shape(), &ax) };
        let y = no_grad(|| {
            let m = reduce_raw(self, &ax, Red::Max);
            // An all -inf slice gives -inf, not NaN.
            let m = with_dtype!(m.dtype(), T => Tensor::from_storage(T::wrap(m.data::<T>().iter().map(|&v| if v.to_f64().is_finite() { v } else { T::ZERO }).collect()), m.shape().clone()));
            let s = reduce_raw(&self.sub(&m).exp(), &ax, Red::Sum);
            s.log().add(&m)
        });
        record_tensor(Op::LogSumExp, y.reshape(out_shape.dims()), &[self], move |gy, y, xs| {
            let y = y.reshape(kept.dims());
            grads![Some(xs[0].sub(&y).exp().mul(&gy.reshape(kept.dims())))]
        })
    }

    fn arg_reduce(&self, axis: isize, keepdims: bool, want_max: bool, op: &str) -> Tensor {
        let a = self.shape().axis(axis, op);
        let (outer, len, inner) = self.shape().split_at_axis(a);
        assert!(len > 0, "{op}: axis {axis} of shape {:?} is empty", self.shape());
        let x = self.to_vec_f64();
        let mut out = vec![0f32; outer * inner];
        for o in 0..outer {
            for i in 0..inner {
                let mut best = 0;
                let mut bv = x[o * len * inner + i];
                for l in 1..len {
                    let v = x[(o * len + l) * inner + i];
                    if bv.is_nan() {
                        break;
                    }
                    if v.is_nan() || (want_max && v > bv) || (!want_max && v < bv) {
                        best = l;
                        bv = v;
                    }
                }
                out[o * inner + i] = best as f32;
            }
        }
        let ax = [a];
        let shape = if keepdims { kept_shape(self.shape(), &ax) } else { dropped_shape(self.shape(), &ax) };
        Tensor::from_vec(out, shape)
    }
    /// Index of the largest value along `axis` (first on ties), as `f32` values. Not differentiable.
    pub fn argmax(&self, axis: isize, keepdims: bool) -> Tensor {
        self.arg_reduce(axis, keepdims, true, "argmax")
    }
    /// Index of the smallest value along `axis` (first on ties), as `f32` values.
    pub fn argmin(&self, axis: isize, keepdims: bool) -> Tensor {
        self.arg_reduce(axis, keepdims, false, "argmin")
    }

    /// Sums a broadcast gradient back down to `shape` (the inverse of `broadcast_to`).
    pub fn sum_to(&self, shape: &Shape) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        let r = self.rank();
        assert!(shape.rank() <= r, "sum_to: cannot reduce shape {:?} to {:?}", self.shape(), shape);
        let lead = r - shape.rank();
        let mut axes: Vec<isize> = (0..lead as isize).collect();
        for (i, &d) in shape.dims().iter().enumerate() {
            if d == 1 && self.dims()[lead + i] != 1 {
                axes.push((lead + i) as isize);
            } else {
                assert!(d == self.dims()[lead + i], "sum_to: cannot reduce shape {:?} to {:?}", self.shape(), shape);
            }
        }
        self.sum(&axes, true).reshape(shape.dims())
    }
}
