//! Regularisation layers that inject noise in training and are the identity in inference:
//! GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D.

use super::declare::{declare_layer, Declared};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use sinew_tensor::{Rng, Tensor};

fn check_rate(class: &str, rate: f64) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::invalid(format!("{class}: rate must be a float in the range [0, 1), got {rate}")));
    }
    Ok(())
}

/// Same-shape standard-normal noise, as a constant (no gradient flows into it).
fn normal_like(x: &Tensor, mean: f64, std: f64, rng: &mut Rng) -> Tensor {
    Tensor::rand_normal(x.dims(), mean, std, rng).to_dtype(x.dtype())
}

declare_layer! {
    /// Keras `GaussianNoise`: adds `N(0, stddev)` noise in training.
    pub struct GaussianNoise("GaussianNoise") {
        new(stddev: f64),
    }
}

impl GaussianNoise {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        if !(self.stddev >= 0.0) {
            return Err(Error::invalid(format!(
                "GaussianNoise: stddev must be a non-negative float, got {}",
                self.stddev
            )));
        }
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        if ctx.training && self.stddev > 0.0 {
            x.add(&normal_like(x, 0.0, self.stddev, ctx.rng))
        } else {
            x.clone()
        }
    }
}
stateless_layer!(GaussianNoise, BuiltGaussianNoise);

declare_layer! {
    /// Keras `GaussianDropout`: multiplies by `N(1, sqrt(rate / (1 - rate)))` noise in training.
    pub struct GaussianDropout("GaussianDropout") {
        new(rate: f64),
    }
}

impl GaussianDropout {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_rate("GaussianDropout", self.rate)?;
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        if ctx.training && self.rate > 0.0 {
            x.mul(&normal_like(x, 1.0, (self.rate / (1.0 - self.rate)).sqrt(), ctx.rng))
        } else {
            x.clone()
        }
    }
}
stateless_layer!(GaussianDropout, BuiltGaussianDropout);

declare_layer! {
    /// Keras `AlphaDropout` (Klambauer et al. 2017): drops to SELU's negative saturation value and
    /// applies the affine correction that keeps a SELU network's mean and variance.
    pub struct AlphaDropout("AlphaDropout") {
        new(rate: f64),
    }
}

impl AlphaDropout {
    fn out_shape(&self, _name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_rate("AlphaDropout", self.rate)?;
        Ok(input.to_vec())
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        if !ctx.training || self.rate == 0.0 {
            return x.clone();
        }
        const ALPHA: f64 = 1.673_263_242_354_377_3;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        let alpha_p = -ALPHA * SCALE;
        let r = self.rate;
        let a = ((1.0 - r) * (1.0 + r * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * r;
        let keep = Tensor::bernoulli(x.dims(), 1.0 - r, ctx.rng).to_dtype(x.dtype());
        // x * keep + alpha_p * (1 - keep), then a * (.) + b
        x.mul(&keep).add(&keep.affine(-alpha_p, alpha_p)).affine(a, b)
    }
}
stateless_layer!(AlphaDropout, BuiltAlphaDropout);

/// The per-sample shape check of the spatial dropouts: `rank` spatial axes and channels.
fn spatial_out_shape(class: &str, rank: usize, rate: f64, name: &str, input: &[usize]) -> Result<Vec<usize>> {
    check_rate(class, rate)?;
    if input.len() != rank + 1 {
        return Err(Error::shape(format!(
            "Input 0 of layer {name} is incompatible: {class} expects {} axes, got shape {input:?}",
            rank + 1
        )));
    }
    Ok(input.to_vec())
}

/// Drops whole channels: one keep/drop draw per (sample, channel), broadcast over the spatial
/// axes, the kept ones scaled by `1 / (1 - rate)`.
fn spatial_dropout(x: &Tensor, rank: usize, rate: f64, ctx: &mut Ctx) -> Tensor {
    if !ctx.training || rate == 0.0 {
        return x.clone();
    }
    let d = x.dims();
    let mut mask_shape = vec![d[0]];
    mask_shape.extend(std::iter::repeat(1).take(rank));
    mask_shape.push(d[d.len() - 1]);
    let keep = 1.0 - rate;
    let mask = Tensor::bernoulli(mask_shape, keep, ctx.rng).mul_scalar(1.0 / keep).to_dtype(x.dtype());
    x.mul(&mask)
}

declare_layer! {
    /// Keras `SpatialDropout2D`: drops whole feature maps (channels) rather than single pixels,
    /// scaling the kept ones by `1 / (1 - rate)`, because neighbouring pixels are correlated and
    /// per-pixel dropout barely regularises a convolution. Identity in inference.
    /// Input shape: `[rows, cols, channels]`.
    pub struct SpatialDropout2D("SpatialDropout2D") {
        new(rate: f64),
    }
}

impl SpatialDropout2D {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        spatial_out_shape(Self::CLASS, 2, self.rate, name, input)
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        spatial_dropout(x, 2, self.rate, ctx)
    }
}
stateless_layer!(SpatialDropout2D, BuiltSpatialDropout2D);

declare_layer! {
    /// Keras `SpatialDropout1D`: [`SpatialDropout2D`] for sequences, dropping whole channels of
    /// every step. Input shape: `[steps, channels]`.
    pub struct SpatialDropout1D("SpatialDropout1D") {
        new(rate: f64),
    }
}

impl SpatialDropout1D {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        spatial_out_shape(Self::CLASS, 1, self.rate, name, input)
    }
    fn apply(&self, x: &Tensor, _out: &[usize], ctx: &mut Ctx) -> Tensor {
        spatial_dropout(x, 1, self.rate, ctx)
    }
}
stateless_layer!(SpatialDropout1D, BuiltSpatialDropout1D);
