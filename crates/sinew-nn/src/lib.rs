//! sinew's layers, activations, initializers and losses, with Keras names and defaults.
//!
//! A layer is configured (`Dense::new(128).activation(Activation::Relu)`) and then built for an
//! input shape into a [`Layer`]; models do the building. See ARCHITECTURE.md, "How to add a layer".

mod activation;
mod error;
mod initializers;
mod layer;
mod layers;
mod losses;
mod regularizers;

pub use activation::{activation_config, activation_from_config, activation_from_name, Activation};
pub use error::{Error, ErrorKind, Result};
pub use initializers::{fans, Initializer};
pub use layer::{snake_case, Ctx, Layer, LayerConfig, Param};
pub use layers::activations::{LeakyReLU, PReLU, PReLULayer, ReLU, Softmax, ELU};
pub use layers::conv::{Conv1D, Conv2D, Conv2DTranspose, ConvLayer, DepthwiseConv2D, Padding, SeparableConv2D};
pub use layers::conv_lstm::{ConvLSTM2D, ConvLstmLayer};
pub use layers::core::{ActivationLayer, Dense, DenseLayer, Dropout, Flatten, Permute, RepeatVector, Reshape};
pub use layers::declare::{Arg, ArgInto, ArgValue, Declared};
pub use layers::embedding::{Embedding, EmbeddingLayer, Masking, MaskingLayer};
pub use layers::merge::{Add, Average, Concatenate, Maximum, MergeLayer, Minimum, Multiply, Subtract};
pub use layers::minibatch::MinibatchDiscrimination;
pub use layers::noise::{AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D};
pub use layers::normalization::{BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization};
pub use layers::pooling::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D, PoolLayer,
};
pub use layers::recurrent::{Bidirectional, BidirectionalLayer, RecurrentLayer, RnnLayer, SimpleRNN, GRU, LSTM};
pub use layers::reshaping::{Cropping2D, UpSampling2D, ZeroPadding2D};
pub use layers::sampling::Sampling;
pub use layers::wrappers::{InnerLayer, TimeDistributed, TimeDistributedLayer, WeightNormalization};
pub use layers::{layer_classes, layer_from_args, layer_from_config, register_layer, LayerFromConfig};
pub use losses::{
    class_ids, loss_from_config, loss_from_name, reduce, BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
    KlDivergence, Loss, Pointwise as PointwiseLoss, Reduction, SparseCategoricalCrossentropy, TargetKind, EPSILON,
    LOSS_NAMES,
};
pub use regularizers::{Constraint, Regularizer};

/// `"; did you mean \"x\"?"` for the valid name closest to `name` (edit distance <= 3), else "".
pub fn suggest(name: &str, valid: &[&str]) -> String {
    let best = valid.iter().map(|v| (edit_distance(name, v), *v)).min();
    match best {
        Some((d, v)) if d <= 3 => format!("; did you mean {v:?}?"),
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
