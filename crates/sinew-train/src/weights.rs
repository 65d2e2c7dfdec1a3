//! Reading and writing all weights of a stack of layers (Keras `get_weights`/`set_weights`).

use crate::error::{Error, Result};
use sinew_nn::Layer;
use sinew_tensor::Tensor;

/// Copies of every parameter, layer by layer, in each layer's parameter order.
pub fn get_weights(layers: &[Box<dyn Layer>]) -> Vec<Tensor> {
    layers
        .iter()
        .flat_map(|l| l.params().into_iter().map(|p| Tensor::from_vec(p.value.to_vec_f32(), p.value.shape().clone())))
        .collect()
}

/// Writes `w` into the parameters, checking count and shapes first so a mismatch changes nothing.
pub fn set_weights(layers: &mut [Box<dyn Layer>], w: &[Tensor]) -> Result<()> {
    let shapes: Vec<(String, Vec<usize>)> = layers
        .iter()
        .flat_map(|l| {
            l.params().into_iter().map(move |p| (format!("{}/{}", l.name(), p.name), p.value.dims().to_vec()))
        })
        .collect();
    if shapes.len() != w.len() {
        return Err(Error::new(format!("set_weights: the model has {} weights, got {}", shapes.len(), w.len())));
    }
    for ((name, s), t) in shapes.iter().zip(w) {
        if s.as_slice() != t.dims() {
            return Err(Error::new(format!("set_weights: weight {name} has shape {s:?}, got {:?}", t.dims())));
        }
    }
    let mut it = w.iter();
    for l in layers.iter_mut() {
        for p in l.params_mut() {
            let src = it.next().expect("counted above").to_vec_f32();
            p.value.data_mut_f32().copy_from_slice(&src);
        }
    }
    Ok(())
}
