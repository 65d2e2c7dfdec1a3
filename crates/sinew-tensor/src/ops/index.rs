//! Indexing: index_select, gather, scatter_add and one_hot. Indices are `usize` slices or tensors
//! holding integral values (the engine has float dtypes only).

use crate::autograd::{grads, record, Op};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// Adds `src[(o, j, i)]` into `dst[(o, idx[j], i)]` for `[outer, idx.len(), inner]` blocks.
fn index_add<T: Element>(dst: &mut [T], len: usize, src: &[T], idx: &[usize], inner: usize) {
    let outer = src.len() / (idx.len() * inner).max(1);
    for o in 0..outer {
        for (j, &k) in idx.iter().enumerate() {
            let s = &src[(o * idx.len() + j) * inner..][..inner];
            let d = &mut dst[(o * len + k) * inner..][..inner];
            d.iter_mut().zip(s).for_each(|(d, &s)| *d += s);
        }
    }
}

impl Tensor {
    /// The integral values of this tensor as indices below `bound` (ids of an embedding, class
    /// ids), in order; panics naming `what` on a fractional, negative or too-large value.
    pub fn to_indices(&self, bound: usize, what: &str) -> Vec<usize> {
        self.to_vec_f64()
            .into_iter()
            .map(|v| {
                assert!(
                    v >= 0.0 && v.fract() == 0.0 && v < bound as f64,
                    "{what}: index {v} is not an integer in [0, {bound})"
                );
                v as usize
            })
            .collect()
    }
    /// Picks the entries `indices` along `axis` (Keras/TF `gather`, PyTorch `index_select`).
    /// Indices may repeat; their gradients add up.
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Tensor {
        let a = self.shape().axis(axis, "index_select");
        let (outer, len, inner) = self.shape().split_at_axis(a);
        if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
            panic!("index_select: index {bad} is out of range for axis {a} of shape {:?}", self.shape());
        }
        let mut dims = self.dims().to_vec();
        dims[a] = indices.len();
        let st = with_dtype!(self.dtype(), T => {
            let x = self.data::<T>();
            let mut out = crate::storage::take::<T>(outer * indices.len() * inner);
            for o in 0..outer {
                for &k in indices {
                    out.extend_from_slice(&x[(o * len + k) * inner..][..inner]);
                }
            }
            T::wrap(out)
        });
        let idx = indices.to_vec();
        record(Op::IndexSelect, st, Shape::from(dims), &[self], move |gy, _, xs| {
            let st = with_dtype!(gy.dtype(), T => {
                let mut g = crate::storage::zeroed::<T>(xs[0].numel());
                index_add(&mut g, len, gy.data::<T>(), &idx, inner);
                T::wrap(g)
            });
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }

    /// PyTorch `gather`: `out[.., j, ..] = self[.., index[.., j, ..], ..]` along `axis`. `index` has
    /// this tensor's shape except along `axis`.
    pub fn gather(&self, axis: isize, index: &Tensor) -> Tensor {
        let a = self.shape().axis(axis, "gather");
        let ok = index.rank() == self.rank() && (0..self.rank()).all(|d| d == a || index.dims()[d] == self.dims()[d]);
        assert!(
            ok,
            "gather: index shape {:?} must match input shape {:?} outside axis {a}",
            index.shape(),
            self.shape()
        );
        let (_, len, inner) = self.shape().split_at_axis(a);
        let ilen = index.dims()[a];
        let idx = index.to_indices(len, "gather");
        // Flat source offset of every output element.
        let offs: Vec<usize> = (0..idx.len())
            .map(|p| {
                let (o, rest) = (p / (ilen * inner), p % (ilen * inner));
                let i = rest % inner;
                (o * len + idx[p]) * inner + i
            })
            .collect();
        let st = with_dtype!(self.dtype(), T => {
            let x = self.data::<T>();
            T::wrap(offs.iter().map(|&o| x[o]).collect())
        });
        record(Op::Gather, st, index.shape().clone(), &[self], move |gy, _, xs| {
            let st = with_dtype!(gy.dtype(), T => {
                let mut g = crate::storage::zeroed::<T>(xs[0].numel());
                for (&o, &v) in offs.iter().zip(gy.data::<T>()) {
                    g[o] += v;
                }
                T::wrap(g)
            });
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }

    /// PyTorch `scatter_add`: a copy of this tensor with `src[.., j, ..]` added at
    /// `[.., index[.., j, ..], ..]` along `axis`. `index` has `src`'s shape.
    pub fn scatter_add(&self, axis: isize, index: &Tensor, src: &Tensor) -> Tensor {
        let a = self.shape().axis(axis, "scatter_add");
        let ok = index.shape() == src.shape()
            && src.rank() == self.rank()
            && (0..self.rank()).all(|d| d == a || src.dims()[d] == self.dims()[d]);
        assert!(
            ok,
            "scatter_add: index {:?} and src {:?} must match each other, and input {:?} outside axis {a}",
            index.shape(),
            src.shape(),
            self.shape()
        );
        assert!(self.dtype() == src.dtype(), "scatter_add: dtypes differ: {:?} vs {:?}", self.dtype(), src.dtype());
        let (_, len, inner) = self.shape().split_at_axis(a);
        let ilen = index.dims()[a];
        let idx = index.to_indices(len, "scatter_add");
        let offs: Vec<usize> = (0..idx.len())
            .map(|p| {
                let (o, rest) = (p / (ilen * inner), p % (ilen * inner));
                (o * len + idx[p]) * inner + rest % inner
            })
            .collect();
        let st = with_dtype!(self.dtype(), T => {
            let mut out = self.data::<T>().to_vec();
            for (&o, &v) in offs.iter().zip(src.data::<T>()) {
                out[o] += v;
            }
            T::wrap(out)
        });
        record(Op::ScatterAdd, st, self.shape().clone(), &[self, src], move |gy, _, xs| {
            let gsrc = xs[1].requires_grad().then(|| {
                let st = with_dtype!(gy.dtype(), T => {
                    let g = gy.data::<T>();
                    T::wrap(offs.iter().map(|&o| g[o]).collect())
                });
                Tensor::from_storage(st, xs[1].shape().clone())
            });
            grads![Some(gy.clone()), gsrc]
        })
    }

    /// One-hot rows: `[indices.len(), depth]`, `f32`. Panics on an index >= depth.
    pub fn one_hot(indices: &[usize], depth: usize) -> Tensor {
        let mut v = vec![0f32; indices.len() * depth];
        for (r, &i) in indices.iter().enumerate() {
            assert!(i < depth, "one_hot: index {i} is out of range for depth {depth}");
            v[r * depth + i] = 1.0;
        }
        Tensor::from_vec(v, [indices.len(), depth])
    }
}
