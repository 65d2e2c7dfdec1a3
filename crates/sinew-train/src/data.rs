//! [`Tensors`]: what `fit`, `evaluate` and `predict` take for `x` and `y`. A single tensor for
//! the usual one-input, one-output model, a list for functional models with several inputs or
//! outputs (Keras accepts an array or a list of arrays the same way).

use crate::error::{Error, Result};
use sinew_tensor::{DType, Tensor};

/// One tensor per model input (or output). Cloning is cheap: tensors share their storage.
#[derive(Clone, Debug)]
pub struct Tensors(pub Vec<Tensor>);

impl Tensors {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Number of samples: the leading dimension of the first tensor.
    pub fn samples(&self) -> usize {
        self.0.first().and_then(|t| t.dims().first().copied()).unwrap_or(0)
    }
    /// The rows `idx` of every tensor.
    pub fn select(&self, idx: &[usize]) -> Tensors {
        Tensors(self.0.iter().map(|t| t.index_select(0, idx)).collect())
    }
    /// Rows `start..start + len` of every tensor (views, no copy).
    pub fn rows(&self, start: usize, len: usize) -> Tensors {
        Tensors(self.0.iter().map(|t| t.narrow(0, start, len)).collect())
    }
    /// Checks that every tensor has at least one axis, the same number of samples, and (for
    /// inputs) only finite values; `what` names the call and `role` is "x" or "y".
    pub(crate) fn check(&self, what: &str, role: &str, finite: bool) -> Result<()> {
        let n = self.samples();
        for (i, t) in self.0.iter().enumerate() {
            let name = if self.0.len() == 1 { role.to_string() } else { format!("{role}[{i}]") };
            if t.rank() == 0 {
                return Err(Error::data(format!("{what}: {name} is a scalar; it needs a leading batch axis")));
            }
            if t.dims()[0] != n {
                return Err(Error::data(format!(
                    "{what}: {name} has {} samples but {role}[0] has {n} (shapes {:?})",
                    t.dims()[0],
                    self.0.iter().map(|t| t.dims().to_vec()).collect::<Vec<_>>()
                )));
            }
            let ok = match t.dtype() {
                DType::F32 => t.as_slice_f32().iter().all(|v| v.is_finite()),
                DType::F64 => t.as_slice_f64().iter().all(|v| v.is_finite()),
            };
            if finite && !ok {
                return Err(Error::data(format!("{what}: {name} contains NaN or infinite values")));
            }
        }
        Ok(())
    }
}

impl From<&Tensor> for Tensors {
    fn from(t: &Tensor) -> Self {
        Tensors(vec![t.clone()])
    }
}
impl From<Tensor> for Tensors {
    fn from(t: Tensor) -> Self {
        Tensors(vec![t])
    }
}
impl From<Vec<Tensor>> for Tensors {
    fn from(v: Vec<Tensor>) -> Self {
        Tensors(v)
    }
}
impl From<&[Tensor]> for Tensors {
    fn from(v: &[Tensor]) -> Self {
        Tensors(v.to_vec())
    }
}
impl From<&Tensors> for Tensors {
    fn from(v: &Tensors) -> Self {
        v.clone()
    }
}
impl<const N: usize> From<[&Tensor; N]> for Tensors {
    fn from(v: [&Tensor; N]) -> Self {
        Tensors(v.iter().map(|t| (*t).clone()).collect())
    }
}
impl<const N: usize> From<[Tensor; N]> for Tensors {
    fn from(v: [Tensor; N]) -> Self {
        Tensors(v.to_vec())
    }
}
