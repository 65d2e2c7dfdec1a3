//! Inference fusions: one op computing what a chain of recorded ops computes, in one pass over
//! memory, when no gradient is needed. When one is, each records the chain itself instead, so
//! training never sees the fused path.

use crate::autograd::is_grad_enabled;
use crate::dtype::Float;
use crate::kernels::conv::conv2d_forward_images;
use crate::kernels::pool::max_pool2d_values;
use crate::ops::conv::{conv2d_geom, Conv2dOpts};
use crate::ops::pool::{pool_geom_of, Pool2dOpts};
use crate::ops::softmax::Activation;
use crate::ops::unary::{dispatch_unary, Unary};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// `z = act(z + bias)` in place over rows of `c` channels.
fn bias_act_in_place<T: Float>(z: &mut [T], bias: Option<&[T]>, act: Option<Unary>, c: usize) {
    match (bias, act) {
        (None, None) => {}
        (None, Some(u)) => dispatch_unary!(u, |k| {
            for v in z.iter_mut() {
                *v = k.f(*v);
            }
        }),
        (Some(b), u) => dispatch_unary!(u.unwrap_or(Unary::Affine(1.0, 0.0)), |k| {
            let b = &b[..c];
            for row in z.chunks_exact_mut(c) {
                let row = &mut row[..c];
                for j in 0..c {
                    row[j] = k.f(row[j] + b[j]);
                }
            }
        }),
    }
}

impl Tensor {
    /// `act(conv2d(x, kernel) + bias)`, then `max_pool2d(pool)` when given: a Keras `Conv2D`
    /// with its activation, followed by `MaxPooling2D`. Without recorded gradients (under
    /// `no_grad`, or when no input requires grad) and with one group, it runs image by image so
    /// each conv output is biased, activated and pooled while still in cache
    /// ([`conv2d_forward_images`]); otherwise it records `conv2d`, `bias_act` and `max_pool2d`.
    /// Both paths run the same kernels per element; results agree up to GEMM rounding order.
    pub fn conv2d_bias_act(
        &self,
        kernel: &Tensor,
        bias: Option<&Tensor>,
        act: Activation,
        o: Conv2dOpts,
        max_pool: Option<Pool2dOpts>,
    ) -> Tensor {
        let op = "conv2d_bias_act";
        let g = conv2d_geom(self, kernel, &o, op);
        if let Some(b) = bias {
            assert!(b.dims() == [g.f], "{op}: bias shape {:?} does not match {} filters", b.shape(), g.f);
            assert!(b.dtype() == self.dtype(), "{op}: dtypes differ: {:?} vs {:?}", self.dtype(), b.dtype());
        }
        let tracked = [Some(self), Some(kernel), bias].into_iter().flatten().any(|t| t.requires_grad());
        if (is_grad_enabled() && tracked) || o.groups != 1 {
            let z = self.conv2d(kernel, o);
            let y = match bias {
                Some(b) => z.bias_act(b, act),
                None => act.unary().map_or(z.clone(), |u| z.unary(u)),
            };
            return max_pool.map_or_else(|| y.clone(), |p| y.max_pool2d(p));
        }
        let pg = max_pool.map(|p| pool_geom_of(&[1, g.out_h(), g.out_w(), g.f], &p, op));
        let out = match &pg {
            Some(p) => Shape::new(&[g.n, p.out_h(), p.out_w(), g.f]),
            None => Shape::new(&[g.n, g.out_h(), g.out_w(), g.f]),
        };
        let u = act.unary();
        let st = with_dtype!(self.dtype(), T => {
            let mut y = crate::storage::overwritten::<T>(out.numel());
            let b = bias.map(|b| b.data::<T>());
            conv2d_forward_images(&g, self.data::<T>(), kernel.data::<T>(), &mut y, pg.is_some(), |z, yb| {
                bias_act_in_place(z, b, u, g.f);
                if let (Some(p), Some(yb)) = (&pg, yb) {
                    max_pool2d_values(p, z, yb);
                }
            });
            T::wrap(y)
        });
        Tensor::from_storage(st, out)
    }
}
