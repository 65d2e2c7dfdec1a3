//! Convolutions in NHWC with HWIO kernels (Keras layouts): conv1d, conv2d and conv_transpose2d,
//! all on the im2col + GEMM kernels in `kernels::conv`. A transposed convolution is the
//! input-gradient of a convolution, so the three directions share the same three kernels.

use crate::autograd::{grads, record, Op};
use crate::kernels::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, conv2d_forward_and_backward_weight,
};
use crate::kernels::Conv2dGeom;
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// Options of a 2-D convolution. Padding is `[top, bottom, left, right]`, so Keras `same` with
/// an even kernel (more padding at the bottom/right) is expressible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOpts {
    pub stride: [usize; 2],
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Default for Conv2dOpts {
    fn default() -> Self {
        Conv2dOpts { stride: [1, 1], padding: [0; 4], dilation: [1, 1], groups: 1 }
    }
}

/// Options of a 1-D convolution over `[n, length, channels]`. Padding is `[left, right]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dOpts {
    pub stride: usize,
    pub padding: [usize; 2],
    pub dilation: usize,
    pub groups: usize,
}

impl Default for Conv1dOpts {
    fn default() -> Self {
        Conv1dOpts { stride: 1, padding: [0; 2], dilation: 1, groups: 1 }
    }
}

/// Options of a 2-D transposed convolution. `padding` is `[top, bottom, left, right]` as in
/// the equivalent convolution; `output_padding` adds rows/columns at the bottom/right and must
/// be smaller than the stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dOpts {
    pub stride: [usize; 2],
    pub padding: [usize; 4],
    pub output_padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Default for ConvTranspose2dOpts {
    fn default() -> Self {
        ConvTranspose2dOpts { stride: [1, 1], padding: [0; 4], output_padding: [0; 2], dilation: [1, 1], groups: 1 }
    }
}

fn check_opts(op: &str, stride: [usize; 2], dilation: [usize; 2], groups: usize) {
    assert!(stride.iter().all(|&s| s > 0), "{op}: strides must be positive, got {stride:?}");
    assert!(dilation.iter().all(|&d| d > 0), "{op}: dilation must be positive, got {dilation:?}");
    assert!(groups > 0, "{op}: groups must be positive, got {groups}");
}

/// A fresh output buffer of `$n` elements in `$dtype`, filled by `$body`. Every conv kernel
/// overwrites its whole output (their tests start from NaN), so the buffer is not zeroed first.
macro_rules! kernel_out {
    ($dtype:expr, $n:expr, |$out:ident, $T:ident| $body:expr) => {
        with_dtype!($dtype, $T => {
            let mut $out = crate::storage::overwritten::<$T>($n);
            $body;
            $T::wrap($out)
        })
    };
}

/// A conv geometry from an input `[n, h, w, c]`, a kernel `[kh, kw, f]` and the options, padding
/// `[top, bottom, left, right]`.
fn geom(
    [n, h, w, c]: [usize; 4],
    [kh, kw, f]: [usize; 3],
    stride: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    groups: usize,
) -> Conv2dGeom {
    let [pad_top, pad_bottom, pad_left, pad_right] = padding;
    Conv2dGeom {
        n,
        h,
        w,
        c,
        f,
        kh,
        kw,
        stride_h: stride[0],
        stride_w: stride[1],
        pad_top,
        pad_bottom,
        pad_left,
        pad_right,
        dil_h: dilation[0],
        dil_w: dilation[1],
        groups,
    }
}

/// The geometry of `conv2d(x, kernel)`, with every shape check of the op (named `op`).
pub(crate) fn conv2d_geom(x: &Tensor, kernel: &Tensor, o: &Conv2dOpts, op: &str) -> Conv2dGeom {
    check_opts(op, o.stride, o.dilation, o.groups);
    assert!(
        x.rank() == 4 && kernel.rank() == 4,
        "{op}: expected input [n, h, w, c] and kernel [kh, kw, c/groups, f], got {:?} and {:?}",
        x.shape(),
        kernel.shape()
    );
    assert!(x.dtype() == kernel.dtype(), "{op}: dtypes differ: {:?} vs {:?}", x.dtype(), kernel.dtype());
    let (xd, w) = (x.dims(), kernel.dims());
    let g = geom([xd[0], xd[1], xd[2], xd[3]], [w[0], w[1], w[3]], o.stride, o.padding, o.dilation, o.groups);
    assert!(
        g.c % g.groups == 0 && g.f % g.groups == 0 && w[2] * g.groups == g.c,
        "{op}: input {:?} and kernel {:?} do not agree on channels with groups = {}",
        x.shape(),
        kernel.shape(),
        g.groups
    );
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(
        oh > 0 && ow > 0,
        "{op}: kernel {:?} (dilation {:?}) does not fit input {:?} with padding {:?}",
        kernel.shape(),
        o.dilation,
        x.shape(),
        o.padding
    );
    g
}

impl Tensor {
    /// 2-D convolution: input `[n, h, w, c]`, kernel `[kh, kw, c / groups, filters]`, output
    /// `[n, out_h, out_w, filters]`. No bias: add it with [`Tensor::bias_act`].
    pub fn conv2d(&self, kernel: &Tensor, o: Conv2dOpts) -> Tensor {
        let g = conv2d_geom(self, kernel, &o, "conv2d");
        let (oh, ow) = (g.out_h(), g.out_w());
        let out_shape = Shape::new(&[g.n, oh, ow, g.f]);
        let st = kernel_out!(self.dtype(), out_shape.numel(), |y, T| conv2d_forward(
            &g,
            self.data::<T>(),
            kernel.data::<T>(),
            &mut y
        ));
        record(Op::Conv2d, st, out_shape, &[self, kernel], move |gy, _, xs| {
            let (x, w) = (&xs[0], &xs[1]);
            let gx = x.requires_grad().then(|| {
                let st = kernel_out!(gy.dtype(), x.numel(), |dx, T| conv2d_backward_input(
                    &g,
                    gy.data::<T>(),
                    w.data::<T>(),
                    &mut dx
                ));
                Tensor::from_storage(st, x.shape().clone())
            });
            let gw = w.requires_grad().then(|| {
                let st = kernel_out!(gy.dtype(), w.numel(), |dw, T| conv2d_backward_weight(
                    &g,
                    x.data::<T>(),
                    gy.data::<T>(),
                    &mut dw
                ));
                Tensor::from_storage(st, w.shape().clone())
            });
            grads![gx, gw]
        })
    }

    /// 1-D convolution: input `[n, length, c]`, kernel `[k, c / groups, filters]`.
    pub fn conv1d(&self, kernel: &Tensor, o: Conv1dOpts) -> Tensor {
        assert!(
            self.rank() == 3 && kernel.rank() == 3,
            "conv1d: expected input [n, length, c] and kernel [k, c/groups, f], got {:?} and {:?}",
            self.shape(),
            kernel.shape()
        );
        let (n, l, c) = (self.dims()[0], self.dims()[1], self.dims()[2]);
        let k = kernel.dims();
        let y = self.reshape([n, 1, l, c]).conv2d(
            &kernel.reshape([1, k[0], k[1], k[2]]),
            Conv2dOpts {
                stride: [1, o.stride],
                padding: [0, 0, o.padding[0], o.padding[1]],
                dilation: [1, o.dilation],
                groups: o.groups,
            },
        );
        let d = y.dims().to_vec();
        y.reshape([d[0], d[2], d[3]])
    }

    /// 2-D transposed convolution (Keras `Conv2DTranspose`): input `[n, h, w, c_in]`, kernel
    /// `[kh, kw, filters / groups, c_in]`, output `[n, out_h, out_w, filters]` with
    /// `out = (in - 1) * stride - pad_total + dilation * (k - 1) + 1 + output_padding`.
    pub fn conv_transpose2d(&self, kernel: &Tensor, o: ConvTranspose2dOpts) -> Tensor {
        check_opts("conv_transpose2d", o.stride, o.dilation, o.groups);
        assert!(
            self.rank() == 4 && kernel.rank() == 4,
            "conv_transpose2d: expected input [n, h, w, c_in] and kernel [kh, kw, f/groups, c_in], got {:?} and {:?}",
            self.shape(),
            kernel.shape()
        );
        assert!(
            self.dtype() == kernel.dtype(),
            "conv_transpose2d: dtypes differ: {:?} vs {:?}",
            self.dtype(),
            kernel.dtype()
        );
        for i in 0..2 {
            assert!(
                o.output_padding[i] < o.stride[i].max(o.dilation[i]),
                "conv_transpose2d: output_padding {:?} must be smaller than stride {:?} or dilation {:?}",
                o.output_padding,
                o.stride,
                o.dilation
            );
        }
        let (x, w) = (self.dims(), kernel.dims());
        assert!(
            x[3] == w[3] && x[3] % o.groups == 0,
            "conv_transpose2d: input {:?} has {} channels, kernel {:?} expects {} (groups = {})",
            self.shape(),
            x[3],
            kernel.shape(),
            w[3],
            o.groups
        );
        let out_len = |i: usize, s: usize, k: usize, d: usize, pad: usize, op: usize| -> usize {
            let full = (i - 1) * s + d * (k - 1) + 1 + op;
            assert!(
                full > pad,
                "conv_transpose2d: padding {:?} leaves no output for input {:?} and kernel {:?}",
                o.padding,
                self.shape(),
                kernel.shape()
            );
            full - pad
        };
        let oh = out_len(x[1], o.stride[0], w[0], o.dilation[0], o.padding[0] + o.padding[1], o.output_padding[0]);
        let ow = out_len(x[2], o.stride[1], w[1], o.dilation[1], o.padding[2] + o.padding[3], o.output_padding[1]);
        // The convolution whose input-gradient this is: its input is our output.
        let g = geom([x[0], oh, ow, w[2] * o.groups], [w[0], w[1], x[3]], o.stride, o.padding, o.dilation, o.groups);
        debug_assert_eq!((g.out_h(), g.out_w()), (x[1], x[2]));
        let out_shape = Shape::new(&[g.n, oh, ow, g.c]);
        let st = kernel_out!(self.dtype(), out_shape.numel(), |y, T| conv2d_backward_input(
            &g,
            self.data::<T>(),
            kernel.data::<T>(),
            &mut y
        ));
        record(Op::ConvTranspose2d, st, out_shape, &[self, kernel], move |gy, _, xs| {
            let (x, w) = (&xs[0], &xs[1]);
            // Both gradients convolve the output gradient: gx = conv2d(gy, w) and
            // gw = im2col(gy)ᵀ · x, so when both are wanted one im2col serves the two.
            let (gx, gw) = match (x.requires_grad(), w.requires_grad()) {
                (true, true) => with_dtype!(gy.dtype(), T => {
                    let mut dx = crate::storage::overwritten::<T>(x.numel());
                    let mut dw = crate::storage::overwritten::<T>(w.numel());
                    conv2d_forward_and_backward_weight(&g, gy.data::<T>(), w.data::<T>(), x.data::<T>(), &mut dx, &mut dw);
                    (
                        Some(Tensor::from_storage(T::wrap(dx), x.shape().clone())),
                        Some(Tensor::from_storage(T::wrap(dw), w.shape().clone())),
                    )
                }),
                (want_x, want_w) => (
                    want_x.then(|| {
                        let st = kernel_out!(gy.dtype(), x.numel(), |dx, T| conv2d_forward(
                            &g,
                            gy.data::<T>(),
                            w.data::<T>(),
                            &mut dx
                        ));
                        Tensor::from_storage(st, x.shape().clone())
                    }),
                    want_w.then(|| {
                        let st = kernel_out!(gy.dtype(), w.numel(), |dw, T| conv2d_backward_weight(
                            &g,
                            gy.data::<T>(),
                            x.data::<T>(),
                            &mut dw
                        ));
                        Tensor::from_storage(st, w.shape().clone())
                    }),
                ),
            };
            grads![gx, gw]
        })
    }
}
