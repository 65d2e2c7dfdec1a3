//! A small residual network on MNIST, built with the functional API: a Conv2D stem, three
//! residual blocks of 16, 32 and 64 filters (3x3 Conv2D -> BatchNormalization -> relu -> 3x3
//! Conv2D -> BatchNormalization, added to the block input, then relu; a strided 1x1 projection
//! where the shape changes), global average pooling and a softmax head. Adam with cosine decay
//! from 0.002, batch 64, 5 epochs, validation_split 0.1. The accuracy it reaches is in its output
//! and in BENCHMARKS.md.
//!
//! Data: real MNIST from `../shared/data/mnist` (or `$SINEW_DATA_DIR/mnist`).
//! Run: `cargo run --release --example mnist_resnet`

use sinew::data::{find_dataset, load_mnist, to_categorical};
use sinew::prelude::*;

const CLASSES: usize = 10;
const BATCH: usize = 64;
const EPOCHS: usize = 5;
/// Steps per epoch: 54,000 training images (after the validation split) in batches of 64.
const STEPS_PER_EPOCH: u64 = 844;

/// `relu(x + BN(conv(relu(BN(conv(x))))))`, with a strided 1x1 projection of `x` when `stride`
/// or the filter count changes the shape.
fn residual_block(
    g: &mut Functional,
    x: Node,
    filters: usize,
    stride: usize,
    project: bool,
) -> Result<Node, Box<dyn std::error::Error>> {
    let conv = |f: usize, s: usize| Conv2D::new(f, &[3]).strides(&[s]).padding(Padding::Same).use_bias(false);
    let h = g.call(conv(filters, stride), x)?;
    let h = g.call(BatchNormalization::new(), h)?;
    let h = g.call(ActivationLayer::new(Activation::Relu), h)?;
    let h = g.call(conv(filters, 1), h)?;
    let h = g.call(BatchNormalization::new(), h)?;
    let shortcut = if project {
        let s = g.call(Conv2D::new(filters, &[1]).strides(&[stride]).use_bias(false), x)?;
        g.call(BatchNormalization::new(), s)?
    } else {
        x
    };
    let sum = g.call(Add::new(), [shortcut, h])?;
    Ok(g.call(ActivationLayer::new(Activation::Relu), sum)?)
}

fn build(seed: u64) -> Result<Model, Box<dyn std::error::Error>> {
    let mut g = Functional::new().seed(seed);
    let inputs = g.input(&[28, 28, 1]);
    let x = g.call(Conv2D::new(16, &[3]).padding(Padding::Same).use_bias(false), inputs)?;
    let x = g.call(BatchNormalization::new(), x)?;
    let x = g.call(ActivationLayer::new(Activation::Relu), x)?;
    let x = residual_block(&mut g, x, 16, 1, false)?;
    let x = residual_block(&mut g, x, 32, 2, true)?;
    let x = residual_block(&mut g, x, 64, 2, true)?;
    let x = g.call(GlobalAveragePooling2D::new(), x)?;
    let out = g.call(Dense::new(CLASSES).activation(Activation::Softmax), x)?;
    Ok(g.model(inputs, out)?)
}

/// Trains for `epochs` and returns the test accuracy.
fn run(epochs: usize, verbose: u8) -> Result<f64, Box<dyn std::error::Error>> {
    let mnist = load_mnist(&find_dataset("mnist")?)?;
    let x_train = mnist.x_train.reshape([60000, 28, 28, 1]).mul_scalar(1.0 / 255.0);
    let x_test = mnist.x_test.reshape([10000, 28, 28, 1]).mul_scalar(1.0 / 255.0);
    let (y_train, y_test) = (to_categorical(&mnist.y_train, CLASSES)?, to_categorical(&mnist.y_test, CLASSES)?);
    let mut model = build(1)?;
    if verbose > 0 {
        eprint!("{}", model.summary()?);
    }
    // Cosine decay to zero over the run: with batch statistics, a constant rate left the
    // validation accuracy swinging by half a point from epoch to epoch.
    let lr = LearningRate::CosineDecay { initial: 0.002, decay_steps: epochs as u64 * STEPS_PER_EPOCH, alpha: 0.0 };
    model.compile(Optimizer::adam(lr), "categorical_crossentropy", &["accuracy"])?;
    let fit = Fit::new().batch_size(BATCH).epochs(epochs).validation_split(0.1).verbose(verbose);
    model.fit(&x_train, &y_train, fit)?;
    let score = model.evaluate(&x_test, &y_test, 1024)?;
    println!("Test loss: {:.4}", score.get("loss").unwrap());
    println!("Test accuracy: {:.4}", score.get("accuracy").unwrap());
    Ok(score.get("accuracy").unwrap())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let acc = run(EPOCHS, 1)?;
    if acc < 0.99 {
        return Err(format!("test accuracy {acc:.4} is below the expected 0.99").into());
    }
    Ok(())
}
