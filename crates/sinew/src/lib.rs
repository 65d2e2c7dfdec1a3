//! sinew: deep learning for Rust with the ergonomics of Keras. This facade is the only crate users
//! add; it re-exports a curated API and a [`prelude`].
//!
//! The README follows; its code sample runs as a doctest.
#![doc = include_str!("../../../README.md")]

pub mod datasets;

pub use sinew_classic as classic;
pub use sinew_data as data;
pub use sinew_nn as nn;
pub use sinew_optim as optim;
pub use sinew_report as report;
pub use sinew_tensor as tensor;
pub use sinew_train as train;

/// The names most programs need, Keras-style.
pub mod prelude {
    pub use sinew_data::Dataset;
    pub use sinew_nn::{
        Activation, ActivationLayer, Add, AlphaDropout, Average, AveragePooling1D, AveragePooling2D,
        BatchNormalization, Bidirectional, BinaryCrossentropy, CategoricalCrossentropy, Concatenate, Conv1D, Conv2D,
        Conv2DTranspose, ConvLSTM2D, Cropping2D, Dense, DepthwiseConv2D, Dropout, Embedding, Flatten, GaussianDropout,
        GaussianNoise, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
        Initializer, LayerNormalization, LeakyReLU, Masking, MaxPooling1D, MaxPooling2D, Maximum,
        MinibatchDiscrimination, Minimum, Multiply, PReLU, Padding, ReLU, Reshape, Sampling, SeparableConv2D,
        SimpleRNN, Softmax, SparseCategoricalCrossentropy, SpatialDropout1D, SpatialDropout2D, Subtract,
        TimeDistributed, UpSampling2D, ZeroPadding2D, ELU, GRU, LSTM,
    };
    pub use sinew_optim::{LearningRate, Optimizer};
    pub use sinew_tensor::{no_grad, DType, Rng, Shape, Tensor};
    pub use sinew_train::{
        Callback, CsvLogger, EarlyStopping, Fit, Functional, History, Logs, Model, ModelCheckpoint, Node,
        ReduceLrOnPlateau, Sequential, Tensors,
    };
}
