//! Pooling, upsampling and dropout over NHWC tensors.

use crate::autograd::{grads, record, record_tensor, Op};
use crate::dtype::Float;
use crate::kernels::pool::{avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward};
use crate::kernels::simd::vectorized;
use crate::kernels::upsample::{
    upsample_bilinear2d_backward, upsample_bilinear2d_forward, upsample_nearest2d_backward, upsample_nearest2d_forward,
};
use crate::kernels::Pool2dGeom;
use crate::random::Rng;
use crate::shape::Shape;
use crate::storage::{with_dtype, Element};
use crate::tensor::Tensor;

/// Options of a 2-D pooling window. Padding is `[top, bottom, left, right]`; padded positions
/// never win a max.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOpts {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 4],
}

impl Pool2dOpts {
    /// A `k x k` window with stride `k` and no padding (Keras `MaxPooling2D(k)`).
    pub fn square(k: usize) -> Self {
        Pool2dOpts { kernel: [k, k], stride: [k, k], padding: [0; 4] }
    }
}

fn pool_geom(x: &Tensor, o: &Pool2dOpts, op: &str) -> Pool2dGeom {
    pool_geom_of(x.dims(), o, op)
}

/// The geometry of pooling an input of dims `d` (`[n, h, w, c]`), with the op's shape checks.
pub(crate) fn pool_geom_of(d: &[usize], o: &Pool2dOpts, op: &str) -> Pool2dGeom {
    assert!(d.len() == 4, "{op}: expected input [n, h, w, c], got {d:?}");
    assert!(
        o.kernel.iter().chain(&o.stride).all(|&v| v > 0),
        "{op}: kernel {:?} and stride {:?} must be positive",
        o.kernel,
        o.stride
    );
    assert!(
        o.padding[0].max(o.padding[1]) < o.kernel[0] && o.padding[2].max(o.padding[3]) < o.kernel[1],
        "{op}: padding {:?} must be smaller than the kernel {:?}",
        o.padding,
        o.kernel
    );
    let g = Pool2dGeom {
        n: d[0],
        h: d[1],
        w: d[2],
        c: d[3],
        kh: o.kernel[0],
        kw: o.kernel[1],
        stride_h: o.stride[0],
        stride_w: o.stride[1],
        pad_top: o.padding[0],
        pad_bottom: o.padding[1],
        pad_left: o.padding[2],
        pad_right: o.padding[3],
    };
    assert!(
        g.out_h() > 0 && g.out_w() > 0,
        "{op}: window {:?} does not fit input {d:?} with padding {:?}",
        o.kernel,
        o.padding
    );
    g
}

/// Runs `$body` with a fresh `$out` buffer of `$n` elements of `$T`, returning its storage. The
/// pooling and upsampling kernels overwrite their whole output (backward ones zero `dx` first
/// themselves), so the buffer is not zeroed here.
macro_rules! fill {
    ($dtype:expr, $n:expr, |$out:ident, $T:ident| $body:expr) => {
        with_dtype!($dtype, $T => {
            let mut $out = crate::storage::overwritten::<$T>($n);
            $body;
            $T::wrap($out)
        })
    };
}

impl Tensor {
    /// Max pooling over `[n, h, w, c]`. Backward routes each gradient to the first maximum of its
    /// window (PyTorch's rule) through a `u32` index per output, never a dense mask.
    pub fn max_pool2d(&self, o: Pool2dOpts) -> Tensor {
        let g = pool_geom(self, &o, "max_pool2d");
        let out_shape = Shape::new(&[g.n, g.out_h(), g.out_w(), g.c]);
        let mut argmax = vec![0u32; out_shape.numel()];
        let st = fill!(self.dtype(), out_shape.numel(), |y, T| max_pool2d_forward(
            &g,
            self.data::<T>(),
            &mut y,
            &mut argmax
        ));
        record(Op::MaxPool2d, st, out_shape, &[self], move |gy, _, xs| {
            let st =
                fill!(gy.dtype(), xs[0].numel(), |dx, T| max_pool2d_backward(&g, gy.data::<T>(), &argmax, &mut dx));
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }
    /// Average pooling over `[n, h, w, c]`. With `count_include_pad = false` (Keras), windows
    /// clipped by padding divide by the taps inside the input; `true` divides by the window area
    /// (PyTorch's default).
    pub fn avg_pool2d(&self, o: Pool2dOpts, count_include_pad: bool) -> Tensor {
        let g = pool_geom(self, &o, "avg_pool2d");
        let out_shape = Shape::new(&[g.n, g.out_h(), g.out_w(), g.c]);
        let st = fill!(self.dtype(), out_shape.numel(), |y, T| avg_pool2d_forward(
            &g,
            self.data::<T>(),
            &mut y,
            count_include_pad
        ));
        record(Op::AvgPool2d, st, out_shape, &[self], move |gy, _, xs| {
            let st = fill!(gy.dtype(), xs[0].numel(), |dx, T| avg_pool2d_backward(
                &g,
                gy.data::<T>(),
                &mut dx,
                count_include_pad
            ));
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }
    /// Max pooling over `[n, length, c]` with padding `[left, right]`.
    pub fn max_pool1d(&self, kernel: usize, stride: usize, padding: [usize; 2]) -> Tensor {
        self.pool1d(kernel, stride, padding, |x, o| x.max_pool2d(o), "max_pool1d")
    }
    /// Average pooling over `[n, length, c]` with padding `[left, right]`.
    pub fn avg_pool1d(&self, kernel: usize, stride: usize, padding: [usize; 2], count_include_pad: bool) -> Tensor {
        self.pool1d(kernel, stride, padding, |x, o| x.avg_pool2d(o, count_include_pad), "avg_pool1d")
    }
    fn pool1d(
        &self,
        kernel: usize,
        stride: usize,
        padding: [usize; 2],
        f: impl Fn(&Tensor, Pool2dOpts) -> Tensor,
        op: &str,
    ) -> Tensor {
        assert!(self.rank() == 3, "{op}: expected input [n, length, c], got {:?}", self.shape());
        let d = self.dims();
        let y = f(
            &self.reshape([d[0], 1, d[1], d[2]]),
            Pool2dOpts { kernel: [1, kernel], stride: [1, stride], padding: [0, 0, padding[0], padding[1]] },
        );
        let e = y.dims().to_vec();
        y.reshape([e[0], e[2], e[3]])
    }

    /// Nearest-neighbour upsampling of `[n, h, w, c]` by integer factors (Keras `UpSampling2D`).
    pub fn upsample_nearest2d(&self, scale: [usize; 2]) -> Tensor {
        assert!(
            self.rank() == 4 && scale[0] > 0 && scale[1] > 0,
            "upsample_nearest2d: expected [n, h, w, c] and positive scales, got {:?} and {scale:?}",
            self.shape()
        );
        let (n, h, w, c) = (self.dims()[0], self.dims()[1], self.dims()[2], self.dims()[3]);
        let [sh, sw] = scale;
        let out_shape = Shape::new(&[n, h * sh, w * sw, c]);
        let st = fill!(self.dtype(), out_shape.numel(), |y, T| upsample_nearest2d_forward(
            n,
            h,
            w,
            c,
            sh,
            sw,
            self.data::<T>(),
            &mut y
        ));
        record(Op::UpsampleNearest2d, st, out_shape, &[self], move |gy, _, xs| {
            let st = fill!(gy.dtype(), xs[0].numel(), |dx, T| upsample_nearest2d_backward(
                n,
                h,
                w,
                c,
                sh,
                sw,
                gy.data::<T>(),
                &mut dx
            ));
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }
    /// Bilinear resize of `[n, h, w, c]` to `[n, out_h, out_w, c]` with half-pixel centres
    /// (`align_corners=False`, as Keras and PyTorch).
    pub fn upsample_bilinear2d(&self, out_size: [usize; 2]) -> Tensor {
        assert!(
            self.rank() == 4 && out_size[0] > 0 && out_size[1] > 0,
            "upsample_bilinear2d: expected [n, h, w, c] and a positive size, got {:?} and {out_size:?}",
            self.shape()
        );
        let (n, h, w, c) = (self.dims()[0], self.dims()[1], self.dims()[2], self.dims()[3]);
        let [oh, ow] = out_size;
        let out_shape = Shape::new(&[n, oh, ow, c]);
        let st = fill!(self.dtype(), out_shape.numel(), |y, T| upsample_bilinear2d_forward(
            n,
            h,
            w,
            c,
            oh,
            ow,
            self.data::<T>(),
            &mut y
        ));
        record(Op::UpsampleBilinear2d, st, out_shape, &[self], move |gy, _, xs| {
            let st = fill!(gy.dtype(), xs[0].numel(), |dx, T| upsample_bilinear2d_backward(
                n,
                h,
                w,
                c,
                oh,
                ow,
                gy.data::<T>(),
                &mut dx
            ));
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }

    /// Inverted dropout: zeroes each element with probability `rate` and scales the rest by
    /// `1 / (1 - rate)`. The mask is kept as bits (1/32 of a float mask) for the backward pass.
    pub fn dropout(&self, rate: f64, rng: &mut Rng) -> Tensor {
        assert!((0.0..1.0).contains(&rate), "dropout: rate must be in [0, 1), got {rate}");
        if rate == 0.0 {
            return self.clone();
        }
        let n = self.numel();
        let mut bits = vec![0u64; n.div_ceil(64)];
        // Keep when a 32-bit uniform is at or above rate * 2^32; words are drawn 64 at a time.
        let thr = (rate * 4_294_967_296.0).min(u32::MAX as f64) as u32;
        let mut stream = rng.stream();
        let mut words = [0u32; 64];
        for (i, b) in bits.iter_mut().enumerate() {
            let m = 64.min(n - i * 64);
            rand::Rng::fill(&mut stream, &mut words[..m]);
            *b = vectorized(
                #[inline(always)]
                || {
                    let mut acc = 0u64;
                    for (j, &r) in words[..m].iter().enumerate() {
                        acc |= u64::from(r >= thr) << j;
                    }
                    acc
                },
            );
        }
        let scale = 1.0 / (1.0 - rate);
        let apply = move |x: &Tensor, bits: &[u64]| {
            let st = with_dtype!(x.dtype(), T => {
                let s = T::from_f64(scale);
                let xv = x.data::<T>();
                let mut out = crate::storage::overwritten::<T>(xv.len());
                // One mask word per 64 elements, split into 32-bit halves so the per-lane shift is a
                // 32-bit vector shift; multiplying by the bit (not selecting) lets the loop vectorise.
                vectorized(#[inline(always)] || {
                    for ((o, xs), &m) in out.chunks_mut(64).zip(xv.chunks(64)).zip(bits) {
                        for (half, (o, xs)) in o.chunks_mut(32).zip(xs.chunks(32)).enumerate() {
                            let w = (m >> (32 * half)) as u32;
                            for (j, (o, &v)) in o.iter_mut().zip(xs).enumerate() {
                                *o = v * s * T::from_u32((w >> j) & 1);
                            }
                        }
                    }
                });
                T::wrap(out)
            });
            Tensor::from_storage(st, x.shape().clone())
        };
        let y = apply(self, &bits);
        record_tensor(Op::Dropout, y, &[self], move |gy, _, _| grads![Some(apply(gy, &bits))])
    }
}
