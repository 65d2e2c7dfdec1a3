//! Batched matrix multiplication with NumPy `matmul` semantics, on the `gemm` crate.
//! Transposes in the backward pass are strides, never copies.

use crate::autograd::{grads, record_tensor, Op};
use crate::kernels::gemm::{gemm, MatRef};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// `op(a) · op(b)` for rank >= 2 operands, where `op` transposes the last two axes when its flag
/// is set, with the batch axes broadcast. No autograd.
pub(crate) fn bmm_raw(a: &Tensor, ta: bool, b: &Tensor, tb: bool) -> Tensor {
    let (ra, rb) = (a.rank(), b.rank());
    let (am, ak) = (a.dims()[ra - 2], a.dims()[ra - 1]);
    let (bk, bn) = (b.dims()[rb - 2], b.dims()[rb - 1]);
    let (m, k) = if ta { (ak, am) } else { (am, ak) };
    let (k2, n) = if tb { (bn, bk) } else { (bk, bn) };
    assert!(k == k2, "matmul: inner dimensions differ: {:?} · {:?}", a.shape(), b.shape());
    let abatch = Shape::new(&a.dims()[..ra - 2]);
    let bbatch = Shape::new(&b.dims()[..rb - 2]);
    let batch = Shape::broadcast(&abatch, &bbatch).unwrap_or_else(|| {
        panic!("matmul: batch dimensions of {:?} and {:?} cannot be broadcast", a.shape(), b.shape())
    });
    let nb = batch.numel();
    let mut out_dims = batch.dims().to_vec();
    out_dims.extend([m, n]);
    let out_shape = Shape::from(out_dims);
    let st = with_dtype!(a.dtype(), T => {
        let (ad, bd) = (a.data::<T>(), b.data::<T>());
        // GEMM with accumulate = false writes every element without reading it.
        let mut out = crate::storage::overwritten::<T>(out_shape.numel());
        let amat = |off: usize, rows: usize| {
            let r = MatRef::row_major(&ad[off..off + rows * ak], rows, ak);
            if ta { r.t() } else { r }
        };
        let bmat = |off: usize| {
            let r = MatRef::row_major(&bd[off..off + bk * bn], bk, bn);
            if tb { r.t() } else { r }
        };
        if bbatch.numel() == 1 && !ta && abatch == batch {
            // Fold a's batch into the rows: one large GEMM.
            gemm(&mut out, n, amat(0, nb * am), bmat(0), false);
        } else {
            let sa = abatch.broadcast_strides(&batch);
            let sb = bbatch.broadcast_strides(&batch);
            for i in 0..nb {
                let (mut oa, mut ob, mut rem) = (0, 0, i);
                for d in (0..batch.rank()).rev() {
                    let j = rem % batch.dims()[d];
                    rem /= batch.dims()[d];
                    oa += j * sa[d];
                    ob += j * sb[d];
                }
                gemm(&mut out[i * m * n..(i + 1) * m * n], n, amat(oa * am * ak, am), bmat(ob * bk * bn), false);
            }
        }
        T::wrap(out)
    });
    Tensor::from_storage(st, out_shape)
}

impl Tensor {
    /// Matrix product with NumPy `matmul` semantics: batch axes broadcast, and a 1-d operand is
    /// a vector (its axis is removed from the result).
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        assert!(self.dtype() == rhs.dtype(), "matmul: dtypes differ: {:?} vs {:?}", self.dtype(), rhs.dtype());
        assert!(
            self.rank() >= 1 && rhs.rank() >= 1,
            "matmul: scalars are not matrices: {:?} · {:?}",
            self.shape(),
            rhs.shape()
        );
        if self.rank() == 1 || rhs.rank() == 1 {
            let a = if self.rank() == 1 { self.unsqueeze(0) } else { self.clone() };
            let b = if rhs.rank() == 1 { rhs.unsqueeze(-1) } else { rhs.clone() };
            let mut y = a.matmul(&b);
            if rhs.rank() == 1 {
                y = y.squeeze(-1);
            }
            if self.rank() == 1 {
                y = y.squeeze(-2);
            }
            return y;
        }
        let y = bmm_raw(self, false, rhs, false);
        record_tensor(Op::Matmul, y, &[self, rhs], |gy, _, xs| {
            let (a, b) = (&xs[0], &xs[1]);
            let ga = a.requires_grad().then(|| bmm_raw(gy, false, b, true).sum_to(a.shape()));
            let gb = b.requires_grad().then(|| {
                if b.rank() == 2 && a.rank() > 2 {
                    // d(b) = sum over the batch of a_iᵀ · gy_i, folded into one GEMM.
                    let a2 = a.reshape([a.numel() / a.dims()[a.rank() - 1], a.dims()[a.rank() - 1]]);
                    let g2 = gy.reshape([gy.numel() / gy.dims()[gy.rank() - 1], gy.dims()[gy.rank() - 1]]);
                    bmm_raw(&a2, true, &g2, false)
                } else {
                    bmm_raw(a, true, gy, false).sum_to(b.shape())
                }
            });
            grads![ga, gb]
        })
    }
}
