//! Keras regularizers (penalties added to the loss) and constraints (projections applied to a
//! weight after each optimizer step).

use crate::error::{Error, ErrorKind, Result};
use serde_json::{json, Value};
use sinew_tensor::{no_grad, Tensor};

/// Keras `L1`, `L2` and `L1L2`: `l1 * sum(|w|) + l2 * sum(w²)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regularizer {
    pub l1: f64,
    pub l2: f64,
}

impl Regularizer {
    /// Keras `L1(l1=0.01)`.
    pub fn l1(l1: f64) -> Self {
        Regularizer { l1, l2: 0.0 }
    }
    /// Keras `L2(l2=0.01)`.
    pub fn l2(l2: f64) -> Self {
        Regularizer { l1: 0.0, l2 }
    }
    /// Keras `L1L2(l1, l2)`.
    pub fn l1_l2(l1: f64, l2: f64) -> Self {
        Regularizer { l1, l2 }
    }
    /// The penalty for `w`, a scalar that gradients flow through.
    pub fn penalty(&self, w: &Tensor) -> Tensor {
        let mut p = w.sum_all().mul_scalar(0.0);
        if self.l1 != 0.0 {
            p = p.add(&w.abs().sum_all().mul_scalar(self.l1));
        }
        if self.l2 != 0.0 {
            p = p.add(&w.square().sum_all().mul_scalar(self.l2));
        }
        p
    }
    pub fn config(&self) -> Value {
        json!({"class_name": "L1L2", "l1": self.l1, "l2": self.l2})
    }
    pub fn from_config(v: &Value) -> Result<Self> {
        match (v["l1"].as_f64(), v["l2"].as_f64()) {
            (Some(l1), Some(l2)) => Ok(Regularizer { l1, l2 }),
            _ => Err(Error::new(ErrorKind::Mismatch, format!("regularizer config needs numbers l1 and l2, got {v}"))),
        }
    }
}

/// Keras weight constraints, applied in place after every optimizer step. Norms are taken over
/// `axis` (Keras default 0: for a Dense kernel `[in, out]`, one norm per output unit).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Constraint {
    /// Rescales columns whose norm exceeds `max_value` (Keras default 2.0).
    MaxNorm { max_value: f64, axis: isize },
    /// Zeroes negative weights.
    NonNeg,
    /// Rescales every column to unit norm.
    UnitNorm { axis: isize },
    /// Moves norms into `[min_value, max_value]` by `rate` (Keras defaults 0, 1, 1).
    MinMaxNorm { min_value: f64, max_value: f64, rate: f64, axis: isize },
}

impl Constraint {
    /// The projected weight (same shape), computed without recording gradients.
    pub fn apply(&self, w: &Tensor) -> Tensor {
        const EPS: f64 = 1e-7;
        no_grad(|| {
            let norms = |axis: isize| w.square().sum(&[axis], true).sqrt();
            match *self {
                Constraint::NonNeg => w.mul(&w.ge(&w.zeros_like())),
                Constraint::MaxNorm { max_value, axis } => {
                    let n = norms(axis);
                    w.mul(&n.clamp(0.0, max_value).div(&n.add_scalar(EPS)))
                }
                Constraint::UnitNorm { axis } => w.div(&norms(axis).add_scalar(EPS)),
                Constraint::MinMaxNorm { min_value, max_value, rate, axis } => {
                    let n = norms(axis);
                    let desired = n.clamp(min_value, max_value).mul_scalar(rate).add(&n.mul_scalar(1.0 - rate));
                    w.mul(&desired.div(&n.add_scalar(EPS)))
                }
            }
        })
    }
    pub fn config(&self) -> Value {
        match *self {
            Constraint::NonNeg => json!({"class_name": "NonNeg"}),
            Constraint::MaxNorm { max_value, axis } => {
                json!({"class_name": "MaxNorm", "max_value": max_value, "axis": axis})
            }
            Constraint::UnitNorm { axis } => json!({"class_name": "UnitNorm", "axis": axis}),
            Constraint::MinMaxNorm { min_value, max_value, rate, axis } => {
                json!({"class_name": "MinMaxNorm", "min_value": min_value, "max_value": max_value, "rate": rate, "axis": axis})
            }
        }
    }
    pub fn from_config(v: &Value) -> Result<Self> {
        let num = |k: &str| {
            v[k].as_f64()
                .ok_or_else(|| Error::new(ErrorKind::Mismatch, format!("constraint config: {k} missing in {v}")))
        };
        let axis = v["axis"].as_i64().unwrap_or(0) as isize;
        Ok(match v["class_name"].as_str() {
            Some("NonNeg") => Constraint::NonNeg,
            Some("MaxNorm") => Constraint::MaxNorm { max_value: num("max_value")?, axis },
            Some("UnitNorm") => Constraint::UnitNorm { axis },
            Some("MinMaxNorm") => Constraint::MinMaxNorm {
                min_value: num("min_value")?,
                max_value: num("max_value")?,
                rate: num("rate")?,
                axis,
            },
            _ => return Err(Error::new(ErrorKind::UnknownName, format!("unknown constraint in {v}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regularizer_penalty_is_keras_formula() {
        let w = Tensor::from_vec(vec![1.0, -2.0, 3.0], [3]);
        assert!((Regularizer::l1_l2(0.1, 0.01).penalty(&w).item() - (0.1 * 6.0 + 0.01 * 14.0)).abs() < 1e-6);
        let w = w.with_grad();
        let g = Regularizer::l2(0.5).penalty(&w).backward();
        assert_eq!(g.get(&w).unwrap().to_vec_f32(), vec![1.0, -2.0, 3.0]);
    }

    #[test]
    fn constraints_project_as_keras_does() {
        // Columns of a [2, 2] kernel: (3, 4) has norm 5, (0.3, 0.4) has norm 0.5.
        let w = Tensor::from_vec(vec![3.0, 0.3, 4.0, 0.4], [2, 2]);
        let m = Constraint::MaxNorm { max_value: 2.0, axis: 0 }.apply(&w).to_vec_f32();
        for (a, b) in m.iter().zip([1.2, 0.3, 1.6, 0.4]) {
            assert!((a - b).abs() < 1e-5, "{m:?}");
        }
        let u = Constraint::UnitNorm { axis: 0 }.apply(&w).to_vec_f32();
        for (a, b) in u.iter().zip([0.6, 0.6, 0.8, 0.8]) {
            assert!((a - b).abs() < 1e-5, "{u:?}");
        }
        let n = Constraint::NonNeg.apply(&Tensor::from_vec(vec![-1.0, 2.0], [2])).to_vec_f32();
        assert_eq!(n, vec![0.0, 2.0]);
        let mm = Constraint::MinMaxNorm { min_value: 1.0, max_value: 2.0, rate: 1.0, axis: 0 }.apply(&w).to_vec_f32();
        for (a, b) in mm.iter().zip([1.2, 0.6, 1.6, 0.8]) {
            assert!((a - b).abs() < 1e-5, "{mm:?}");
        }
    }
}
