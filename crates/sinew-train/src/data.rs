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
            if finite && !all_finite(t) {
                return Err(Error::data(format!("{what}: {name} contains NaN or infinite values")));
            }
        }
        Ok(())
    }
}

/// Whether every value is finite: a value is not when its exponent bits are all ones. The bits
/// are OR-ed over blocks without an early exit, so the loop runs as wide as the vectors go
/// (`Iterator::all` on `is_finite` stayed scalar: 1% of b5's step, run on every batch).
fn all_finite(t: &Tensor) -> bool {
    use sinew_tensor::runtime::vectorized;
    #[inline(always)]
    fn finite_f32(c: &[f32]) -> bool {
        let mut bad = 0u32;
        for v in c {
            bad |= u32::from(v.to_bits() & 0x7f80_0000 == 0x7f80_0000);
        }
        bad == 0
    }
    #[inline(always)]
    fn finite_f64(c: &[f64]) -> bool {
        let mut bad = 0u64;
        for v in c {
            bad |= u64::from(v.to_bits() & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000);
        }
        bad == 0
    }
    match t.dtype() {
        DType::F32 => t.as_slice_f32().chunks(4096).all(|c| vectorized(|| finite_f32(c))),
        DType::F64 => t.as_slice_f64().chunks(4096).all(|c| vectorized(|| finite_f64(c))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_finite_finds_each_kind_of_non_finite_value_anywhere() {
        let n = 10_000;
        let ok: Vec<f32> = (0..n).map(|i| [0.0, -0.0, f32::MAX, f32::MIN, 1e-45, -3.5][i % 6]).collect();
        assert!(all_finite(&Tensor::from_vec(ok.clone(), [n])));
        assert!(all_finite(&Tensor::from_vec_f64(ok.iter().map(|&v| f64::from(v)).collect(), [n])));
        for at in [0, 4095, 4096, n - 1] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut v = ok.clone();
                v[at] = bad;
                assert!(!all_finite(&Tensor::from_vec(v.clone(), [n])), "f32 {bad} at {at}");
                let v64: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                assert!(!all_finite(&Tensor::from_vec_f64(v64, [n])), "f64 {bad} at {at}");
            }
        }
        let mut big = vec![1.0f64; 5000];
        big[4999] = f64::MAX;
        assert!(all_finite(&Tensor::from_vec_f64(big, [5000])));
    }
}
