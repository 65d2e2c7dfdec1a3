//! [`WeightRules`]: the kernel and bias regularizers and constraints that `Dense` and the conv
//! family share, between the configs that name them (`regularizers.rs`) and the built weights
//! they attach to (`layer.rs`).

use crate::layer::Param;
use crate::regularizers::{Constraint, Regularizer};

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
    /// Attaches the kernel's regularizer and constraint to a built kernel.
    pub(crate) fn on_kernel(&self, p: &mut Param) {
        (p.regularizer, p.constraint) = (self.kernel_regularizer, self.kernel_constraint);
    }
    /// Attaches the bias's regularizer and constraint to a built bias.
    pub(crate) fn on_bias(&self, p: &mut Param) {
        (p.regularizer, p.constraint) = (self.bias_regularizer, self.bias_constraint);
    }
}
