//! CPU kernels on plain slices. No autograd, no `Tensor`: the ops in `crate::ops` wrap these and
//! record their backward rules. Every kernel here has a slow, obvious reference beside it that the
//! tests compare against on random shapes.
//!
//! Layout: images are NHWC (Keras `channels_last`), conv kernels are HWIO
//! (`[kh, kw, in_channels / groups, out_channels]`, the Keras kernel layout).

pub mod conv;
pub mod conv_fused;
pub mod gemm;
pub mod math;
pub mod peak;
pub mod pool;
pub mod recurrent;
pub(crate) mod recurrent_cells;
pub mod simd;
mod skinny;
#[cfg(test)]
mod test_util;
pub mod upsample;

/// Geometry of a 2-D convolution over NHWC input `[n, h, w, c]` with an HWIO kernel
/// `[kh, kw, c / groups, f]`, giving NHWC output `[n, out_h, out_w, f]`.
/// Padding may be asymmetric (Keras `same` with an even kernel pads more at the bottom/right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub f: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    pub dil_h: usize,
    pub dil_w: usize,
    pub groups: usize,
}

impl Conv2dGeom {
    pub fn out_h(&self) -> usize {
        out_len(self.h, self.kh, self.stride_h, self.pad_top + self.pad_bottom, self.dil_h)
    }
    pub fn out_w(&self) -> usize {
        out_len(self.w, self.kw, self.stride_w, self.pad_left + self.pad_right, self.dil_w)
    }
}

/// Geometry of a 2-D pooling window over NHWC input `[n, h, w, c]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
}

impl Pool2dGeom {
    pub fn out_h(&self) -> usize {
        out_len(self.h, self.kh, self.stride_h, self.pad_top + self.pad_bottom, 1)
    }
    pub fn out_w(&self) -> usize {
        out_len(self.w, self.kw, self.stride_w, self.pad_left + self.pad_right, 1)
    }
}

/// Output length of a sliding window: `(len + pad - dil*(k-1) - 1) / stride + 1`, 0 if the window
/// does not fit.
pub fn out_len(len: usize, k: usize, stride: usize, pad_total: usize, dil: usize) -> usize {
    let span = dil * (k - 1) + 1;
    if len + pad_total < span {
        0
    } else {
        (len + pad_total - span) / stride + 1
    }
}
