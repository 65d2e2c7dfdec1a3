//! Fusions: one op computing what a chain of ops computes, in one pass over memory. Without
//! recorded gradients any such chain fuses; when recording, a fusion with a backward rule of its
//! own is one recorded op, and the others record the chain itself.

use crate::activation::Activation;
use crate::autograd::{grads, is_grad_enabled, record, Op};
use crate::dtype::Float;
use crate::kernels::conv_fused::{conv2d_forward_images, conv2d_pool_backward, fits};
use crate::kernels::pool::{max_pool2d_forward, max_pool2d_values};
use crate::kernels::Conv2dGeom;
use crate::ops::conv::{conv2d_geom, Conv2dOpts};
use crate::ops::pool::{pool_geom_of, Pool2dOpts};
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

/// The activations the recorded fusion supports: monotone, so pooling the activation's output
/// picks the same maxima as the op chain, and with a derivative that is a function of the
/// output, so the backward pass needs only the pooled output.
#[derive(Clone, Copy)]
enum OutputDerivative {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
}

impl OutputDerivative {
    fn of(act: Activation) -> Option<Self> {
        Some(match act {
            Activation::Linear => OutputDerivative::Linear,
            Activation::Relu => OutputDerivative::Relu,
            Activation::Sigmoid => OutputDerivative::Sigmoid,
            Activation::Tanh => OutputDerivative::Tanh,
            _ => return None,
        })
    }
}

/// [`conv2d_pool_backward`] with the derivative as a closure of its own in each arm, so the
/// scatter loop inlines it.
#[allow(clippy::too_many_arguments)]
fn pool_backward<T: Float>(
    g: &Conv2dGeom,
    deriv: OutputDerivative,
    (x, w, gy, y): (&[T], &[T], &[T], &[T]),
    argmax: &[u32],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) {
    match deriv {
        OutputDerivative::Linear => conv2d_pool_backward(g, x, w, gy, y, argmax, |_| T::ONE, dx, dw, db),
        OutputDerivative::Relu => {
            conv2d_pool_backward(g, x, w, gy, y, argmax, |y| if y > T::ZERO { T::ONE } else { T::ZERO }, dx, dw, db)
        }
        OutputDerivative::Sigmoid => conv2d_pool_backward(g, x, w, gy, y, argmax, |y| y * (T::ONE - y), dx, dw, db),
        OutputDerivative::Tanh => conv2d_pool_backward(g, x, w, gy, y, argmax, |y| T::ONE - y * y, dx, dw, db),
    }
}

impl Tensor {
    /// `act(conv2d(x, kernel) + bias)`, then `max_pool2d(pool)` when given: a Keras `Conv2D`
    /// with its activation, followed by `MaxPooling2D`. Runs image by image with one group
    /// ([`conv2d_forward_images`]), so each conv output is biased, activated and pooled while
    /// still in cache:
    /// - without recorded gradients (under `no_grad`, or when no input requires grad), for any
    ///   elementwise activation;
    /// - when recording, with pooling and a linear, relu, sigmoid or tanh activation, as one op
    ///   whose backward also works image by image ([`conv2d_pool_backward`]): the batch's conv
    ///   output is never stored.
    ///
    /// Otherwise, and for grouped convs or images whose scratch exceeds 4 MiB, it runs the chain:
    /// `conv2d`, then `bias_act` (or the activation alone without a bias), then `max_pool2d`. The
    /// paths agree up to the rounding order of the GEMM.
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
        let recording = is_grad_enabled() && tracked;
        let dact = OutputDerivative::of(act).filter(|_| max_pool.is_some());
        // Grouped convs, zero filters and images too large for the per-image scratch take the
        // chain, as does a 1x1 conv without pooling (the chain's pointwise GEMM needs no im2col).
        let pointwise = g.kh == 1 && g.kw == 1 && o.stride == [1, 1] && o.padding == [0; 4];
        // Softmax is not elementwise, so it runs after the conv's output is complete.
        let chain =
            o.groups != 1 || g.f == 0 || !fits(&g) || (pointwise && max_pool.is_none()) || !act.is_elementwise();
        if chain || (recording && dact.is_none()) {
            let z = self.conv2d(kernel, o);
            let y = match bias {
                Some(b) => z.bias_act(b, act),
                None => z.activation(act),
            };
            return max_pool.map_or_else(|| y.clone(), |p| y.max_pool2d(p));
        }
        let pg = max_pool.map(|p| pool_geom_of(&[1, g.out_h(), g.out_w(), g.f], &p, op));
        let out = match &pg {
            Some(p) => Shape::new(&[g.n, p.out_h(), p.out_w(), g.f]),
            None => Shape::new(&[g.n, g.out_h(), g.out_w(), g.f]),
        };
        let u = act.unary();
        let commutes = act == Activation::Relu;
        let mut argmax = if recording { vec![0u32; out.numel()] } else { Vec::new() };
        let st = with_dtype!(self.dtype(), T => {
            let mut y = crate::storage::overwritten::<T>(out.numel());
            let b = bias.map(|b| b.data::<T>());
            conv2d_forward_images(&g, self.data::<T>(), kernel.data::<T>(), &mut y, &mut argmax, pg.is_some(), |z, yb| {
                match (&pg, yb) {
                    (Some(p), Some((yb, ab))) if !ab.is_empty() => {
                        bias_act_in_place(z, b, u, g.f);
                        max_pool2d_forward(p, z, yb, ab)
                    }
                    // Pooling commutes exactly with adding the bias and then relu (both monotone,
                    // and rounding of `z + b` is monotone in `z`), so they run on the pooled
                    // values, a quarter as many for 2x2. Relu maps NaN to 0 (`f32::max`), which
                    // the NaN-skipping max reproduces, infinite biases included. Without relu an
                    // infinite bias breaks it (`-inf + inf` is NaN in the chain), so only relu.
                    (Some(p), Some((yb, _))) if commutes => {
                        max_pool2d_values(p, z, yb, false);
                        bias_act_in_place(yb, b, u, g.f);
                    }
                    (Some(p), Some((yb, _))) => {
                        bias_act_in_place(z, b, u, g.f);
                        max_pool2d_values(p, z, yb, true)
                    }
                    _ => bias_act_in_place(z, b, u, g.f),
                }
            });
            T::wrap(y)
        });
        let (Some(dact), true) = (dact, recording) else {
            return Tensor::from_storage(st, out);
        };
        let inputs: Vec<&Tensor> = [Some(self), Some(kernel), bias].into_iter().flatten().collect();
        record(Op::ConvBiasActPool, st, out, &inputs, move |gy, y, xs| {
            let (x, w) = (&xs[0], &xs[1]);
            let (gx, gw, gb) = with_dtype!(gy.dtype(), T => {
                let mut dx = x.requires_grad().then(|| crate::storage::overwritten::<T>(x.numel()));
                let (mut dw, mut db) = (crate::storage::overwritten::<T>(w.numel()), crate::storage::overwritten::<T>(g.f));
                let data = (x.data::<T>(), w.data::<T>(), gy.data::<T>(), y.data::<T>());
                pool_backward(&g, dact, data, &argmax, dx.as_deref_mut(), &mut dw, &mut db);
                (
                    dx.map(|v| Tensor::from_storage(T::wrap(v), x.shape().clone())),
                    Tensor::from_storage(T::wrap(dw), w.shape().clone()),
                    Tensor::from_storage(T::wrap(db), Shape::new(&[g.f])),
                )
            });
            let gw = w.requires_grad().then_some(gw);
            match xs.get(2) {
                Some(b) => grads![gx, gw, b.requires_grad().then_some(gb)],
                None => grads![gx, gw],
            }
        })
    }
}
