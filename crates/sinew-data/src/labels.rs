//! Label encodings.

use crate::error::{Error, Result};
use sinew_tensor::Tensor;

/// Keras `to_categorical`: class ids `[n]` (or `[n, 1]`) to one-hot rows `[n, num_classes]`.
/// A label that is not an integer in `[0, num_classes)` is an error naming its position.
pub fn to_categorical(y: &Tensor, num_classes: usize) -> Result<Tensor> {
    if y.rank() > 2 || (y.rank() == 2 && y.dims()[1] != 1) {
        return Err(Error::invalid(format!(
            "to_categorical: labels must have shape [n] or [n, 1], got {:?}",
            y.dims()
        )));
    }
    let mut ids = Vec::with_capacity(y.numel());
    for (i, v) in y.to_vec_f64().into_iter().enumerate() {
        if !(v >= 0.0 && v.fract() == 0.0 && v < num_classes as f64) {
            return Err(Error::invalid(format!(
                "to_categorical: label {i} is {v}, not a class id in [0, {num_classes})"
            )));
        }
        ids.push(v as usize);
    }
    Ok(Tensor::one_hot(&ids, num_classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_categorical_one_hots_and_rejects_bad_labels() {
        let y = Tensor::from_vec(vec![2.0, 0.0, 1.0], [3]);
        assert_eq!(to_categorical(&y, 3).unwrap().to_vec_f32(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let e = to_categorical(&Tensor::from_vec(vec![0.0, 3.0], [2]), 3).unwrap_err();
        assert_eq!(e.message, "to_categorical: label 1 is 3, not a class id in [0, 3)");
        assert!(to_categorical(&Tensor::from_vec(vec![0.5], [1]), 3).is_err());
        assert!(to_categorical(&Tensor::zeros([2, 2]), 3).is_err());
    }
}
