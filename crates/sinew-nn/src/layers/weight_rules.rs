//! [`WeightRules`]: the kernel and bias regularizers and constraints that `Dense` and the conv
//! family share, between the configs that name them (`regularizers.rs`) and the built weights
//! they attach to (`layer.rs`).

use crate::error::Result;
use crate::layer::Param;
use crate::regularizers::{Constraint, Regularizer};
use serde_json::{json, Value};

/// The regularizers and constraints of a layer's kernel and bias (Keras `kernel_regularizer`,
/// `bias_regularizer`, `kernel_constraint`, `bias_constraint`), which `Dense` and the conv
/// family share: their builder setters ([`weight_rule_setters!`]), their config and how they
/// attach to the built weights.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct WeightRules {
    pub(crate) kernel_regularizer: Option<Regularizer>,
    pub(crate) bias_regularizer: Option<Regularizer>,
    pub(crate) kernel_constraint: Option<Constraint>,
    pub(crate) bias_constraint: Option<Constraint>,
}

impl WeightRules {
    /// The four from a layer config; absent or null means none.
    pub(crate) fn from_config(v: &Value) -> Result<Self> {
        let opt = |k: &str| v.get(k).filter(|x| !x.is_null());
        Ok(WeightRules {
            kernel_regularizer: opt("kernel_regularizer").map(Regularizer::from_config).transpose()?,
            bias_regularizer: opt("bias_regularizer").map(Regularizer::from_config).transpose()?,
            kernel_constraint: opt("kernel_constraint").map(Constraint::from_config).transpose()?,
            bias_constraint: opt("bias_constraint").map(Constraint::from_config).transpose()?,
        })
    }
    /// Writes the four into a layer's config object (null when unset, as Keras does).
    pub(crate) fn write_config(&self, v: &mut Value) {
        v["kernel_regularizer"] = json!(self.kernel_regularizer.map(|r| r.config()));
        v["bias_regularizer"] = json!(self.bias_regularizer.map(|r| r.config()));
        v["kernel_constraint"] = json!(self.kernel_constraint.map(|c| c.config()));
        v["bias_constraint"] = json!(self.bias_constraint.map(|c| c.config()));
    }
    /// Attaches the kernel's regularizer and constraint to a built kernel.
    pub(crate) fn on_kernel(&self, p: &mut Param) {
        (p.regularizer, p.constraint) = (self.kernel_regularizer, self.kernel_constraint);
    }
    /// Attaches the bias's regularizer and constraint to a built bias.
    pub(crate) fn on_bias(&self, p: &mut Param) {
        (p.regularizer, p.constraint) = (self.bias_regularizer, self.bias_constraint);
    }
}

/// The Keras builder setters `kernel_regularizer`, `bias_regularizer`, `kernel_constraint` and
/// `bias_constraint`, for a layer config with a `rules: WeightRules` field.
macro_rules! weight_rule_setters {
    () => {
        pub fn kernel_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
            self.rules.kernel_regularizer = Some(r);
            self
        }
        pub fn bias_regularizer(mut self, r: $crate::regularizers::Regularizer) -> Self {
            self.rules.bias_regularizer = Some(r);
            self
        }
        pub fn kernel_constraint(mut self, c: $crate::regularizers::Constraint) -> Self {
            self.rules.kernel_constraint = Some(c);
            self
        }
        pub fn bias_constraint(mut self, c: $crate::regularizers::Constraint) -> Self {
            self.rules.bias_constraint = Some(c);
            self
        }
    };
}
pub(crate) use weight_rule_setters;
