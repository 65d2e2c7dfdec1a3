//! Image reshaping layers, channels_last: UpSampling2D, ZeroPadding2D, Cropping2D.

use super::declare::{declare_layer, Declared};
use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use sinew_tensor::{Rng, Tensor};

fn check_image(class: &str, name: &str, input: &[usize]) -> Result<()> {
    if input.len() != 3 {
        return Err(Error::shape(format!(
            "Input 0 of layer {name} is incompatible: {class} expects [rows, cols, channels], got shape {input:?}"
        )));
    }
    Ok(())
}

declare_layer! {
    /// Keras `UpSampling2D`: repeats rows and columns `size` times (`nearest`) or resizes with
    /// half-pixel bilinear interpolation (`bilinear`, as Keras' `tf.image.resize`).
    pub struct UpSampling2D("UpSampling2D") {
        new(),
        /// The factor for rows and columns.
        size: [usize; 2] = [2, 2],
        /// `"nearest"` or `"bilinear"`.
        interpolation: String = "nearest".to_string(),
    }
}

impl UpSampling2D {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image(Self::CLASS, name, input)?;
        if self.size.contains(&0) {
            return Err(Error::invalid(format!("UpSampling2D: size must be positive, got {:?}", self.size)));
        }
        if !["nearest", "bilinear"].contains(&self.interpolation.as_str()) {
            return Err(Error::invalid(format!(
                "UpSampling2D: interpolation must be \"nearest\" or \"bilinear\", got {:?}",
                self.interpolation
            ))
            .about("interpolation", Some(format!("{:?}", self.interpolation))));
        }
        Ok(vec![input[0] * self.size[0], input[1] * self.size[1], input[2]])
    }
    fn apply(&self, x: &Tensor, out: &[usize], _ctx: &mut Ctx) -> Tensor {
        if self.interpolation == "bilinear" {
            x.upsample_bilinear2d([out[0], out[1]])
        } else {
            x.upsample_nearest2d(self.size)
        }
    }
}
stateless_layer!(UpSampling2D, BuiltUpSampling2D);

declare_layer! {
    /// Keras `ZeroPadding2D`: zero rows and columns around the image, `[[top, bottom], [left,
    /// right]]` (Keras' `(1, 1)` is `[[1, 1], [1, 1]]`; a spec may write one integer or a pair).
    pub struct ZeroPadding2D("ZeroPadding2D") {
        new(),
        /// Rows above and below, columns left and right.
        padding: [[usize; 2]; 2] = [[1, 1], [1, 1]],
    }
}

impl ZeroPadding2D {
    /// The same padding on every side (Keras `ZeroPadding2D(p)`).
    pub fn symmetric(p: usize) -> Self {
        Self::new().padding([[p, p], [p, p]])
    }
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image(Self::CLASS, name, input)?;
        let [[t, b], [l, r]] = self.padding;
        Ok(vec![input[0] + t + b, input[1] + l + r, input[2]])
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let [[t, b], [l, r]] = self.padding;
        x.pad(&[(0, 0), (t, b), (l, r), (0, 0)], 0.0)
    }
}
stateless_layer!(ZeroPadding2D, BuiltZeroPadding2D);

declare_layer! {
    /// Keras `Cropping2D`: removes rows and columns from the edges, `[[top, bottom], [left,
    /// right]]`.
    pub struct Cropping2D("Cropping2D") {
        new(),
        /// Rows above and below, columns left and right.
        cropping: [[usize; 2]; 2] = [[0, 0], [0, 0]],
    }
}

impl Cropping2D {
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image(Self::CLASS, name, input)?;
        let [[t, b], [l, r]] = self.cropping;
        if t + b >= input[0] || l + r >= input[1] {
            return Err(Error::shape(format!(
                "Input 0 of layer {name} is incompatible: cropping {:?} leaves nothing of shape {input:?}",
                self.cropping
            )));
        }
        Ok(vec![input[0] - t - b, input[1] - l - r, input[2]])
    }
    fn apply(&self, x: &Tensor, out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let [[t, _], [l, _]] = self.cropping;
        x.narrow(1, t, out[0]).narrow(2, l, out[1])
    }
}
stateless_layer!(Cropping2D, BuiltCropping2D);
