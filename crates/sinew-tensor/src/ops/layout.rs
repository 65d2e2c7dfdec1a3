//! Shape and layout ops: reshape (a view), broadcast, permute, narrow, pad, concat and friends.

use crate::autograd::{grads, record, record_multi, record_shared, Op};
use crate::dtype::Float;
use crate::shape::{Dims, Shape};
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// Copies the strided view (`dims`, `strides`, `offset`) of `src` into a new row-major buffer.
pub(crate) fn strided_copy<T: Element>(src: &[T], dims: &[usize], strides: &[usize], offset: usize) -> Vec<T> {
    let n: usize = dims.iter().product();
    let mut out = crate::storage::take::<T>(n);
    if n == 0 {
        return out;
    }
    if dims.is_empty() {
        out.push(src[offset]);
        return out;
    }
    // Merge axes that are contiguous with the next one, so the inner copy is as long as possible
    // (narrowing [n, 28, 28, 1] along the batch copied one element at a time before).
    let (mut md, mut ms): (Vec<usize>, Vec<usize>) = (vec![dims[0]], vec![strides[0]]);
    for (&d, &st) in dims[1..].iter().zip(&strides[1..]) {
        let last = md.len() - 1;
        if ms[last] == st * d {
            md[last] *= d;
            ms[last] = st;
        } else {
            md.push(d);
            ms.push(st);
        }
    }
    let (dims, strides) = (&md[..], &ms[..]);
    let r = dims.len();
    let inner = dims[r - 1];
    let is = strides[r - 1];
    let mut idx = vec![0usize; r - 1];
    let mut base = offset;
    loop {
        if is == 1 {
            out.extend_from_slice(&src[base..base + inner]);
        } else {
            out.extend((0..inner).map(|j| src[base + j * is]));
        }
        // Advance the multi-index over the leading dims.
        let mut d = r - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            base += strides[d];
            if idx[d] < dims[d] {
                break;
            }
            base -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
}

impl Tensor {
    /// The same elements under a new shape of equal size: a view, no copy.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        assert!(
            shape.numel() == self.numel(),
            "reshape: cannot reshape {:?} ({} elements) to {:?} ({} elements)",
            self.shape(),
            self.numel(),
            shape,
            shape.numel()
        );
        if &shape == self.shape() {
            return self.clone();
        }
        record_shared(Op::Reshape, self.storage().clone(), shape, &[self], |gy, _, xs| {
            grads![Some(gy.reshape(xs[0].shape()))]
        })
    }
    /// Reshape where one dimension may be `-1` (inferred), as in Keras `Reshape`.
    pub fn reshape_infer(&self, dims: &[isize]) -> Tensor {
        let known: usize = dims.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
        let unknown = dims.iter().filter(|&&d| d < 0).count();
        assert!(unknown <= 1, "reshape: at most one -1 allowed, got {dims:?}");
        let out: Vec<usize> = dims
            .iter()
            .map(|&d| {
                if d >= 0 {
                    d as usize
                } else {
                    assert!(
                        known > 0 && self.numel() % known == 0,
                        "reshape: cannot infer -1 in {dims:?} for shape {:?}",
                        self.shape()
                    );
                    self.numel() / known
                }
            })
            .collect();
        self.reshape(out)
    }
    /// Flattens every axis after the first: `[n, ...] -> [n, prod(...)]` (Keras `Flatten`).
    pub fn flatten_from(&self, axis: usize) -> Tensor {
        let d = self.dims();
        let mut out: Vec<usize> = d[..axis].to_vec();
        out.push(d[axis..].iter().product());
        self.reshape(out)
    }
    /// Inserts an axis of length 1 at `axis` (which may equal the rank).
    pub fn unsqueeze(&self, axis: isize) -> Tensor {
        let r = self.rank() as isize + 1;
        let a = if axis < 0 { axis + r } else { axis };
        assert!((0..r).contains(&a), "unsqueeze: axis {axis} out of range for shape {:?}", self.shape());
        let mut d = self.dims().to_vec();
        d.insert(a as usize, 1);
        self.reshape(d)
    }
    /// Removes axis `axis`, which must have length 1.
    pub fn squeeze(&self, axis: isize) -> Tensor {
        let a = self.shape().axis(axis, "squeeze");
        assert!(
            self.dims()[a] == 1,
            "squeeze: axis {axis} of shape {:?} has length {}, not 1",
            self.shape(),
            self.dims()[a]
        );
        let mut d = self.dims().to_vec();
        d.remove(a);
        self.reshape(d)
    }

    /// Materialises this tensor broadcast to `shape` (NumPy rules).
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        if &shape == self.shape() {
            return self.clone();
        }
        assert!(
            Shape::broadcast(self.shape(), &shape).as_ref() == Some(&shape),
            "broadcast_to: shape {:?} cannot be broadcast to {:?}",
            self.shape(),
            shape
        );
        let strides = self.shape().broadcast_strides(&shape);
        let st = with_dtype!(self.dtype(), T => T::wrap(strided_copy(self.data::<T>(), shape.dims(), &strides, 0)));
        record(Op::BroadcastTo, st, shape, &[self], |gy, _, xs| grads![Some(gy.sum_to(xs[0].shape()))])
    }

    /// Reorders axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        let r = self.rank();
        let mut seen = vec![false; r];
        assert!(
            perm.len() == r && perm.iter().all(|&p| p < r && !std::mem::replace(&mut seen[p], true)),
            "permute: {perm:?} is not a permutation of the axes of shape {:?}",
            self.shape()
        );
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return self.clone();
        }
        let st0 = self.shape().strides();
        let dims: Dims = perm.iter().map(|&p| self.dims()[p]).collect();
        let strides: Dims = perm.iter().map(|&p| st0[p]).collect();
        let st = with_dtype!(self.dtype(), T => T::wrap(strided_copy(self.data::<T>(), &dims, &strides, 0)));
        let mut inv = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        record(Op::Permute, st, Shape(dims), &[self], move |gy, _, _| grads![Some(gy.permute(&inv))])
    }
    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Tensor {
        let (a, b) = (self.shape().axis(a, "transpose"), self.shape().axis(b, "transpose"));
        let mut p: Vec<usize> = (0..self.rank()).collect();
        p.swap(a, b);
        self.permute(&p)
    }
    /// Transpose of a matrix (swaps the last two axes).
    pub fn t(&self) -> Tensor {
        assert!(self.rank() >= 2, "t: expected rank >= 2, got shape {:?}", self.shape());
        self.transpose(-2, -1)
    }

    /// `len` elements of `axis` starting at `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Tensor {
        let a = self.shape().axis(axis, "narrow");
        let d = self.dims()[a];
        assert!(
            start + len <= d,
            "narrow: range {start}..{} out of bounds for axis {a} of shape {:?}",
            start + len,
            self.shape()
        );
        if start == 0 && len == d {
            return self.clone();
        }
        let strides = self.shape().strides();
        let mut dims: Dims = self.dims().into();
        dims[a] = len;
        let st = with_dtype!(self.dtype(), T => T::wrap(strided_copy(self.data::<T>(), &dims, &strides, start * strides[a])));
        record(Op::Narrow, st, Shape(dims), &[self], move |gy, _, xs| {
            let mut pads = vec![(0, 0); xs[0].rank()];
            pads[a] = (start, d - start - len);
            grads![Some(gy.pad(&pads, 0.0))]
        })
    }
    /// The sub-tensor `ranges[i]` along each leading axis `i` (NumPy `x[a:b, c:d]`); axes past
    /// `ranges.len()` are kept whole.
    pub fn slice(&self, ranges: &[std::ops::Range<usize>]) -> Tensor {
        assert!(ranges.len() <= self.rank(), "slice: {} ranges given for shape {:?}", ranges.len(), self.shape());
        let mut t = self.clone();
        for (a, r) in ranges.iter().enumerate() {
            assert!(r.start <= r.end, "slice: empty-reversed range {r:?} on axis {a} of shape {:?}", self.shape());
            t = t.narrow(a as isize, r.start, r.end - r.start);
        }
        t
    }
    /// Splits `axis` into pieces of the given sizes (which must add up to its length).
    ///
    /// One recorded op with one output per piece: its backward writes the pieces' gradients
    /// into one buffer of the input's shape (zeros where a piece got none), instead of one
    /// padded copy of the whole input per piece.
    pub fn split(&self, axis: isize, sizes: &[usize]) -> Vec<Tensor> {
        let a = self.shape().axis(axis, "split");
        assert!(
            sizes.iter().sum::<usize>() == self.dims()[a],
            "split: sizes {sizes:?} do not add up to axis {a} of shape {:?}",
            self.shape()
        );
        let strides = self.shape().strides();
        let piece_dims = |s: usize| {
            let mut d: Dims = self.dims().into();
            d[a] = s;
            d
        };
        let mut start = 0;
        let outputs = sizes
            .iter()
            .map(|&s| {
                let dims = piece_dims(s);
                let st = with_dtype!(self.dtype(), T => T::wrap(strided_copy(self.data::<T>(), &dims, &strides, start * strides[a])));
                start += s;
                (st, Shape(dims))
            })
            .collect();
        let sizes = sizes.to_vec();
        record_multi(Op::Split, outputs, &[self], move |gys, xs| {
            let x = &xs[0];
            let ost = x.shape().strides();
            let st = with_dtype!(x.dtype(), T => {
                let mut out = crate::storage::zeroed::<T>(x.numel());
                let mut start = 0;
                for (g, &s) in gys.iter().zip(&sizes) {
                    if let Some(g) = g {
                        scatter_into(&mut out, g.data::<T>(), g.dims(), &ost, start * ost[a]);
                    }
                    start += s;
                }
                T::wrap(out)
            });
            grads![Some(Tensor::from_storage(st, x.shape().clone()))]
        })
    }
    /// Splits `axis` into `n` equal chunks.
    pub fn chunk(&self, n: usize, axis: isize) -> Vec<Tensor> {
        let a = self.shape().axis(axis, "chunk");
        assert!(
            n > 0 && self.dims()[a] % n == 0,
            "chunk: axis {a} of shape {:?} does not divide into {n} chunks",
            self.shape()
        );
        self.split(axis, &vec![self.dims()[a] / n; n])
    }

    /// Pads each axis with `(before, after)` copies of `value`.
    pub fn pad(&self, pads: &[(usize, usize)], value: f64) -> Tensor {
        assert!(
            pads.len() == self.rank(),
            "pad: {} (before, after) pairs given for shape {:?}",
            pads.len(),
            self.shape()
        );
        let dims: Dims = self.dims().iter().zip(pads).map(|(&d, &(b, e))| d + b + e).collect();
        let out_shape = Shape(dims);
        let ost = out_shape.strides();
        let offset: usize = pads.iter().zip(&ost).map(|(&(b, _), &s)| b * s).sum();
        let st = with_dtype!(self.dtype(), T => {
            let mut out = vec![T::from_f64(value); out_shape.numel()];
            scatter_into(&mut out, self.data::<T>(), self.dims(), &ost, offset);
            T::wrap(out)
        });
        let pads = pads.to_vec();
        record(Op::Pad, st, out_shape, &[self], move |gy, _, xs| {
            let mut g = gy.clone();
            for (a, &(b, _)) in pads.iter().enumerate() {
                g = g.narrow(a as isize, b, xs[0].dims()[a]);
            }
            grads![Some(g)]
        })
    }

    /// Joins tensors along `axis`; all other axes must match.
    pub fn concat(ts: &[&Tensor], axis: isize) -> Tensor {
        assert!(!ts.is_empty(), "concat: no tensors given");
        let a = ts[0].shape().axis(axis, "concat");
        for t in ts {
            let ok = t.rank() == ts[0].rank()
                && t.dims().iter().zip(ts[0].dims()).enumerate().all(|(i, (x, y))| i == a || x == y)
                && t.dtype() == ts[0].dtype();
            assert!(ok, "concat: shape {:?} does not match {:?} outside axis {a}", t.shape(), ts[0].shape());
        }
        let mut dims: Dims = ts[0].dims().into();
        dims[a] = ts.iter().map(|t| t.dims()[a]).sum();
        let out_shape = Shape(dims);
        let ost = out_shape.strides();
        let sizes: Vec<usize> = ts.iter().map(|t| t.dims()[a]).collect();
        let st = with_dtype!(ts[0].dtype(), T => {
            let mut out = crate::storage::zeroed::<T>(out_shape.numel());
            let mut start = 0;
            for t in ts {
                scatter_into(&mut out, t.data::<T>(), t.dims(), &ost, start * ost[a]);
                start += t.dims()[a];
            }
            T::wrap(out)
        });
        record(Op::Concat, st, out_shape, ts, move |gy, _, xs| {
            let mut start = 0;
            xs.iter()
                .zip(&sizes)
                .map(|(x, &s)| {
                    let g = x.requires_grad().then(|| gy.narrow(a as isize, start, s));
                    start += s;
                    g
                })
                .collect()
        })
    }
    /// Stacks equally shaped tensors along a new axis.
    pub fn stack(ts: &[&Tensor], axis: isize) -> Tensor {
        assert!(!ts.is_empty(), "stack: no tensors given");
        let u: Vec<Tensor> = ts.iter().map(|t| t.unsqueeze(axis)).collect();
        let refs: Vec<&Tensor> = u.iter().collect();
        Tensor::concat(&refs, axis)
    }
}

/// Writes row-major `src` of shape `dims` into `out` at `offset`, with `out`'s strides.
fn scatter_into<T: Element>(out: &mut [T], src: &[T], dims: &[usize], ostrides: &[usize], offset: usize) {
    let n: usize = dims.iter().product();
    if n == 0 {
        return;
    }
    let r = dims.len();
    if r == 0 {
        out[offset] = src[0];
        return;
    }
    let inner = dims[r - 1];
    let rows = n / inner;
    for row in 0..rows {
        let mut rem = row;
        let mut o = offset;
        for d in (0..r - 1).rev() {
            o += (rem % dims[d]) * ostrides[d];
            rem /= dims[d];
        }
        out[o..o + inner].copy_from_slice(&src[row * inner..(row + 1) * inner]);
    }
}
