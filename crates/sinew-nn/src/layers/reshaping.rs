//! Image reshaping layers, channels_last: UpSampling2D, ZeroPadding2D, Cropping2D.

use crate::error::{Error, Result};
use crate::layer::{Ctx, Layer, LayerConfig};
use serde_json::{json, Value};
use sinew_tensor::{Rng, Tensor};

fn check_image(class: &str, name: &str, input: &[usize]) -> Result<()> {
    if input.len() != 3 {
        return Err(Error::shape(format!(
            "Input 0 of layer {name} is incompatible: {class} expects [rows, cols, channels], got shape {input:?}"
        )));
    }
    Ok(())
}

/// Keras `UpSampling2D`: repeats rows and columns `size` times (`nearest`) or resizes with
/// half-pixel bilinear interpolation (`bilinear`, as Keras' `tf.image.resize`).
/// Args: `size` ((2, 2)), `interpolation` ("nearest").
#[derive(Clone, Debug)]
pub struct UpSampling2D {
    size: [usize; 2],
    bilinear: bool,
    name: Option<String>,
}

impl UpSampling2D {
    pub fn new(size: [usize; 2]) -> Self {
        UpSampling2D { size, bilinear: false, name: None }
    }
    /// `"nearest"` or `"bilinear"`.
    pub fn interpolation(mut self, mode: &str) -> Result<Self> {
        self.bilinear = match mode {
            "nearest" => false,
            "bilinear" => true,
            other => {
                return Err(Error::invalid(format!(
                    "UpSampling2D: interpolation must be \"nearest\" or \"bilinear\", got {other:?}"
                )))
            }
        };
        Ok(self)
    }
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image("UpSampling2D", name, input)?;
        if self.size.contains(&0) {
            return Err(Error::invalid(format!("UpSampling2D: size must be positive, got {:?}", self.size)));
        }
        Ok(vec![input[0] * self.size[0], input[1] * self.size[1], input[2]])
    }
    fn apply(&self, x: &Tensor, out: &[usize], _ctx: &mut Ctx) -> Tensor {
        if self.bilinear {
            x.upsample_bilinear2d([out[0], out[1]])
        } else {
            x.upsample_nearest2d(self.size)
        }
    }
    fn args(&self) -> Value {
        json!({"size": self.size, "interpolation": if self.bilinear { "bilinear" } else { "nearest" }})
    }
}
stateless_layer!(UpSampling2D, BuiltUpSampling2D, "UpSampling2D");

/// Keras `ZeroPadding2D`: zero rows and columns around the image.
/// Args: `padding` as `[[top, bottom], [left, right]]` (Keras' `(1, 1)` is `[[1, 1], [1, 1]]`).
#[derive(Clone, Debug)]
pub struct ZeroPadding2D {
    padding: [[usize; 2]; 2],
    name: Option<String>,
}

impl ZeroPadding2D {
    pub fn new(padding: [[usize; 2]; 2]) -> Self {
        ZeroPadding2D { padding, name: None }
    }
    /// The same padding on every side (Keras `ZeroPadding2D(p)`).
    pub fn symmetric(p: usize) -> Self {
        Self::new([[p, p], [p, p]])
    }
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image("ZeroPadding2D", name, input)?;
        let [[t, b], [l, r]] = self.padding;
        Ok(vec![input[0] + t + b, input[1] + l + r, input[2]])
    }
    fn apply(&self, x: &Tensor, _out: &[usize], _ctx: &mut Ctx) -> Tensor {
        let [[t, b], [l, r]] = self.padding;
        x.pad(&[(0, 0), (t, b), (l, r), (0, 0)], 0.0)
    }
    fn args(&self) -> Value {
        json!({"padding": self.padding})
    }
}
stateless_layer!(ZeroPadding2D, BuiltZeroPadding2D, "ZeroPadding2D");

/// Keras `Cropping2D`: removes rows and columns from the edges.
/// Args: `cropping` as `[[top, bottom], [left, right]]`.
#[derive(Clone, Debug)]
pub struct Cropping2D {
    cropping: [[usize; 2]; 2],
    name: Option<String>,
}

impl Cropping2D {
    pub fn new(cropping: [[usize; 2]; 2]) -> Self {
        Cropping2D { cropping, name: None }
    }
    fn out_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        check_image("Cropping2D", name, input)?;
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
    fn args(&self) -> Value {
        json!({"cropping": self.cropping})
    }
}
stateless_layer!(Cropping2D, BuiltCropping2D, "Cropping2D");

/// `[[a, b], [c, d]]` from a config value.
pub(crate) fn pairs(class: &str, key: &str, v: &Value) -> Result<[[usize; 2]; 2]> {
    let get = |i: usize, j: usize| v[key][i][j].as_u64().map(|u| u as usize);
    match (get(0, 0), get(0, 1), get(1, 0), get(1, 1)) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok([[a, b], [c, d]]),
        _ => {
            Err(Error::invalid(format!("{class} config: {key} must be [[top, bottom], [left, right]], got {}", v[key])))
        }
    }
}
