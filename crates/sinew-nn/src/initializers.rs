//! Keras initializers. All draw from an explicit seeded [`Rng`], so a seed reproduces a model.

use crate::error::{Error, ErrorKind, Result};
use sinew_tensor::{Rng, Tensor};

/// A weight initializer with Keras names and defaults.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Initializer {
    /// The Dense and Conv kernel default: uniform in `±sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
    Zeros,
    Ones,
    Constant(f64),
    RandomNormal {
        mean: f64,
        stddev: f64,
    },
    RandomUniform {
        minval: f64,
        maxval: f64,
    },
    TruncatedNormal {
        mean: f64,
        stddev: f64,
    },
    Orthogonal {
        gain: f64,
    },
}

const NAMES: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "zeros",
    "ones",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "orthogonal",
];

/// `(fan_in, fan_out)` as Keras computes them: the last axis is fan-out, the one before it fan-in,
/// and leading (kernel-window) axes multiply both.
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        r => {
            let receptive: usize = shape[..r - 2].iter().product();
            ((shape[r - 2] * receptive) as f64, (shape[r - 1] * receptive) as f64)
        }
    }
}

impl Initializer {
    /// The initializer with Keras name `name` and default arguments.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_uniform" => Initializer::HeUniform,
            "he_normal" => Initializer::HeNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            "lecun_normal" => Initializer::LecunNormal,
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "random_normal" => Initializer::RandomNormal { mean: 0.0, stddev: 0.05 },
            "random_uniform" => Initializer::RandomUniform { minval: -0.05, maxval: 0.05 },
            "truncated_normal" => Initializer::TruncatedNormal { mean: 0.0, stddev: 0.05 },
            "orthogonal" => Initializer::Orthogonal { gain: 1.0 },
            _ => {
                return Err(Error::new(
                    ErrorKind::UnknownName,
                    format!("unknown initializer {name:?}{}", crate::suggest(name, NAMES)),
                ))
            }
        })
    }

    /// Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::LecunNormal => "lecun_normal",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            Initializer::Constant(_) => "constant",
            Initializer::RandomNormal { .. } => "random_normal",
            Initializer::RandomUniform { .. } => "random_uniform",
            Initializer::TruncatedNormal { .. } => "truncated_normal",
            Initializer::Orthogonal { .. } => "orthogonal",
        }
    }

    /// Keras-style config: the name, plus the arguments when they are not the defaults.
    pub fn config(&self) -> serde_json::Value {
        use serde_json::json;
        match *self {
            Initializer::Constant(v) => json!({"class_name": "constant", "value": v}),
            Initializer::RandomNormal { mean, stddev } => {
                json!({"class_name": "random_normal", "mean": mean, "stddev": stddev})
            }
            Initializer::RandomUniform { minval, maxval } => {
                json!({"class_name": "random_uniform", "minval": minval, "maxval": maxval})
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                json!({"class_name": "truncated_normal", "mean": mean, "stddev": stddev})
            }
            Initializer::Orthogonal { gain } => json!({"class_name": "orthogonal", "gain": gain}),
            _ => json!(self.name()),
        }
    }

    /// Parses [`Initializer::config`] output (or a bare Keras name).
    pub fn from_config(v: &serde_json::Value) -> Result<Self> {
        if let Some(name) = v.as_str() {
            return Self::from_name(name);
        }
        let name = v["class_name"]
            .as_str()
            .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("initializer config without class_name: {v}")))?;
        let num = |k: &str| {
            v[k].as_f64().ok_or_else(|| {
                Error::new(
                    ErrorKind::Mismatch,
                    format!("initializer {name}: argument {k} missing or not a number in {v}"),
                )
            })
        };
        Ok(match name {
            "constant" => Initializer::Constant(num("value")?),
            "random_normal" => Initializer::RandomNormal { mean: num("mean")?, stddev: num("stddev")? },
            "random_uniform" => Initializer::RandomUniform { minval: num("minval")?, maxval: num("maxval")? },
            "truncated_normal" => Initializer::TruncatedNormal { mean: num("mean")?, stddev: num("stddev")? },
            "orthogonal" => Initializer::Orthogonal { gain: num("gain")? },
            other => Self::from_name(other)?,
        })
    }

    /// A new `f32` tensor of `shape`.
    pub fn init(&self, shape: &[usize], rng: &mut Rng) -> Tensor {
        let (fan_in, fan_out) = fans(shape);
        let avg = (fan_in + fan_out) / 2.0;
        // Keras VarianceScaling: uniform limit sqrt(3 * scale / n); truncated normal with the
        // stddev corrected for truncation at 2 sigma (0.8796...).
        let uniform = |scale: f64, n: f64, rng: &mut Rng| {
            let limit = (3.0 * scale / n).sqrt();
            Tensor::rand_uniform(shape, -limit, limit, rng)
        };
        let normal = |scale: f64, n: f64, rng: &mut Rng| {
            Tensor::truncated_normal(shape, 0.0, (scale / n).sqrt() / 0.879_625_661_034_239_8, rng)
        };
        match *self {
            Initializer::GlorotUniform => uniform(1.0, avg, rng),
            Initializer::GlorotNormal => normal(1.0, avg, rng),
            Initializer::HeUniform => uniform(2.0, fan_in, rng),
            Initializer::HeNormal => normal(2.0, fan_in, rng),
            Initializer::LecunUniform => uniform(1.0, fan_in, rng),
            Initializer::LecunNormal => normal(1.0, fan_in, rng),
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant(v) => Tensor::full(shape, v, sinew_tensor::DType::F32),
            Initializer::RandomNormal { mean, stddev } => Tensor::rand_normal(shape, mean, stddev, rng),
            Initializer::RandomUniform { minval, maxval } => Tensor::rand_uniform(shape, minval, maxval, rng),
            Initializer::TruncatedNormal { mean, stddev } => Tensor::truncated_normal(shape, mean, stddev, rng),
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, rng),
        }
    }
}

/// Keras `Orthogonal`: the Q factor of a normal matrix (rows = product of the leading axes,
/// columns = the last), signs fixed by R's diagonal, transposed when wide. Modified Gram-Schmidt.
fn orthogonal(shape: &[usize], gain: f64, rng: &mut Rng) -> Tensor {
    if shape.len() < 2 {
        return Tensor::rand_normal(shape, 0.0, gain, rng);
    }
    let cols = shape[shape.len() - 1];
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // `short` orthonormal vectors of length `tall`.
    let mut q: Vec<Vec<f64>> = (0..short).map(|_| (0..tall).map(|_| rng.normal()).collect()).collect();
    for i in 0..short {
        for j in 0..i {
            let d: f64 = (0..tall).map(|k| q[i][k] * q[j][k]).sum();
            for k in 0..tall {
                q[i][k] -= d * q[j][k];
            }
        }
        let norm = q[i].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        q[i].iter_mut().for_each(|v| *v /= norm);
    }
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // Tall: column c is vector c. Wide: row r is vector r.
            let v = if rows >= cols { q[c][r] } else { q[r][c] };
            out[r * cols + c] = (gain * v) as f32;
        }
    }
    Tensor::from_vec(out, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initializers_glorot_uniform_respects_its_limit() {
        let t = Initializer::GlorotUniform.init(&[300, 200], &mut Rng::seed(1));
        let limit = (6.0f32 / 500.0).sqrt();
        let v = t.to_vec_f32();
        assert!(v.iter().all(|x| x.abs() <= limit));
        let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
        assert!((var - limit * limit / 3.0).abs() < 0.05 * limit * limit / 3.0, "variance {var}");
    }

    #[test]
    fn initializers_he_normal_has_keras_variance() {
        let t = Initializer::HeNormal.init(&[3, 3, 16, 32], &mut Rng::seed(2));
        let v = t.to_vec_f32();
        let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
        let want = 2.0 / (9.0 * 16.0);
        assert!((var - want).abs() < 0.1 * want, "variance {var} want {want}");
    }

    #[test]
    fn initializers_orthogonal_is_orthonormal() {
        for shape in [[6usize, 4], [4, 6]] {
            let t = Initializer::Orthogonal { gain: 1.0 }.init(&shape, &mut Rng::seed(3));
            let g = if shape[0] >= shape[1] { t.t().matmul(&t) } else { t.matmul(&t.t()) };
            let n = shape[0].min(shape[1]);
            let v = g.to_vec_f32();
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v[i * n + j] - want).abs() < 1e-5, "{shape:?} [{i},{j}] = {}", v[i * n + j]);
                }
            }
        }
    }

    #[test]
    fn initializers_are_reproducible_from_a_seed() {
        let a = Initializer::GlorotNormal.init(&[5, 5], &mut Rng::seed(7)).to_vec_f32();
        let b = Initializer::GlorotNormal.init(&[5, 5], &mut Rng::seed(7)).to_vec_f32();
        assert_eq!(a, b);
    }

    #[test]
    fn initializers_unknown_name_suggests_the_closest() {
        let e = Initializer::from_name("glorot_unifrom").unwrap_err();
        assert_eq!(e.message, "unknown initializer \"glorot_unifrom\"; did you mean \"glorot_uniform\"?");
    }
}
