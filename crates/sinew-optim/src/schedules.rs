//! Learning-rate schedules (Keras `keras.optimizers.schedules`), evaluated at the 0-based
//! iteration count as Keras does.

use serde_json::{json, Value};

/// A constant learning rate or a schedule.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LearningRate {
    Constant(f64),
    /// `initial * decay_rate ^ (step / decay_steps)`, the exponent floored when `staircase`.
    ExponentialDecay {
        initial: f64,
        decay_steps: u64,
        decay_rate: f64,
        staircase: bool,
    },
    /// `values[i]` while `step <= boundaries[i]`, `values.last()` after the last boundary.
    PiecewiseConstant {
        boundaries: Vec<u64>,
        values: Vec<f64>,
    },
    /// Cosine from `initial` to `initial * alpha` over `decay_steps`, then flat.
    CosineDecay {
        initial: f64,
        decay_steps: u64,
        alpha: f64,
    },
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Constant(v)
    }
}

impl LearningRate {
    /// The rate at 0-based iteration `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(v) => *v,
            LearningRate::ExponentialDecay { initial, decay_steps, decay_rate, staircase } => {
                let mut p = step as f64 / (*decay_steps).max(1) as f64;
                if *staircase {
                    p = p.floor();
                }
                initial * decay_rate.powf(p)
            }
            LearningRate::PiecewiseConstant { boundaries, values } => {
                let i = boundaries.iter().position(|&b| step <= b).unwrap_or(boundaries.len());
                values[i.min(values.len() - 1)]
            }
            LearningRate::CosineDecay { initial, decay_steps, alpha } => {
                let p = (step as f64 / (*decay_steps).max(1) as f64).min(1.0);
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * p).cos());
                initial * ((1.0 - alpha) * cos + alpha)
            }
        }
    }
    /// Parses [`LearningRate::config`] output.
    pub fn from_config(v: &Value) -> Option<Self> {
        if let Some(x) = v.as_f64() {
            return Some(LearningRate::Constant(x));
        }
        let f = |k: &str| v[k].as_f64();
        let u = |k: &str| v[k].as_u64();
        Some(match v["class_name"].as_str()? {
            "ExponentialDecay" => LearningRate::ExponentialDecay {
                initial: f("initial_learning_rate")?,
                decay_steps: u("decay_steps")?,
                decay_rate: f("decay_rate")?,
                staircase: v["staircase"].as_bool()?,
            },
            "PiecewiseConstantDecay" => LearningRate::PiecewiseConstant {
                boundaries: v["boundaries"].as_array()?.iter().map(|b| b.as_u64()).collect::<Option<_>>()?,
                values: v["values"].as_array()?.iter().map(|b| b.as_f64()).collect::<Option<_>>()?,
            },
            "CosineDecay" => LearningRate::CosineDecay {
                initial: f("initial_learning_rate")?,
                decay_steps: u("decay_steps")?,
                alpha: f("alpha")?,
            },
            _ => return None,
        })
    }

    pub fn config(&self) -> Value {
        match self {
            LearningRate::Constant(v) => json!(v),
            LearningRate::ExponentialDecay { initial, decay_steps, decay_rate, staircase } => json!({
                "class_name": "ExponentialDecay", "initial_learning_rate": initial, "decay_steps": decay_steps,
                "decay_rate": decay_rate, "staircase": staircase}),
            LearningRate::PiecewiseConstant { boundaries, values } => {
                json!({"class_name": "PiecewiseConstantDecay", "boundaries": boundaries, "values": values})
            }
            LearningRate::CosineDecay { initial, decay_steps, alpha } => {
                json!({"class_name": "CosineDecay", "initial_learning_rate": initial, "decay_steps": decay_steps, "alpha": alpha})
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LearningRate;

    #[test]
    fn schedules_match_keras_formulas() {
        let e = LearningRate::ExponentialDecay { initial: 0.1, decay_steps: 10, decay_rate: 0.5, staircase: false };
        assert!((e.at(5) - 0.1 * 0.5f64.powf(0.5)).abs() < 1e-12);
        let s = LearningRate::ExponentialDecay { initial: 0.1, decay_steps: 10, decay_rate: 0.5, staircase: true };
        assert_eq!(s.at(19), 0.05);
        let p = LearningRate::PiecewiseConstant { boundaries: vec![10, 20], values: vec![1.0, 0.5, 0.1] };
        assert_eq!((p.at(10), p.at(11), p.at(21)), (1.0, 0.5, 0.1));
        let c = LearningRate::CosineDecay { initial: 1.0, decay_steps: 100, alpha: 0.0 };
        assert!((c.at(50) - 0.5).abs() < 1e-12 && c.at(200).abs() < 1e-12);
    }
}
