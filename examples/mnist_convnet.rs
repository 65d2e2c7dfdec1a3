//! Mirrors the Keras demo "Simple MNIST convnet" (`demo_mnist_convnet`): Conv2D 32 3x3 relu ->
//! MaxPool 2 -> Conv2D 64 3x3 relu -> MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax,
//! Adam, categorical cross-entropy, batch 128, 15 epochs, validation_split 0.1. Keras reaches
//! 99.06-99.22% test accuracy; what this reaches, and how long it takes on 2 cores, is in
//! BENCHMARKS.md.
//!
//! Data: real MNIST from `../shared/data/mnist` (or `$SINEW_DATA_DIR/mnist`).
//! Run: `cargo run --release --example mnist_convnet`

use sinew::data::{find_dataset, load_mnist, to_categorical};
use sinew::prelude::*;

const CLASSES: usize = 10;
const BATCH: usize = 128;
const EPOCHS: usize = 15;

/// Trains for `epochs` and returns the test accuracy.
fn run(epochs: usize, verbose: u8) -> Result<f64, Box<dyn std::error::Error>> {
    let mnist = load_mnist(&find_dataset("mnist")?)?;
    let x_train = mnist.x_train.reshape([60000, 28, 28, 1]).mul_scalar(1.0 / 255.0);
    let x_test = mnist.x_test.reshape([10000, 28, 28, 1]).mul_scalar(1.0 / 255.0);
    let (y_train, y_test) = (to_categorical(&mnist.y_train, CLASSES)?, to_categorical(&mnist.y_test, CLASSES)?);

    let mut model = Sequential::new();
    model.seed(1).input(&[28, 28, 1]);
    model.add(Conv2D::new(32, &[3, 3]).activation(Activation::Relu));
    model.add(MaxPooling2D::new());
    model.add(Conv2D::new(64, &[3, 3]).activation(Activation::Relu));
    model.add(MaxPooling2D::new());
    model.add(Flatten::new());
    model.add(Dropout::new(0.5));
    model.add(Dense::new(CLASSES).activation(Activation::Softmax));
    if verbose > 0 {
        eprint!("{}", model.summary()?);
    }
    model.compile(Optimizer::adam(0.001), "categorical_crossentropy", &["accuracy"])?;
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

#[cfg(test)]
mod tests {
    /// A shortened run (2 epochs) on real MNIST must reach 98.0% (it reaches 98.23%, measured
    /// 2026-12-06 with `cargo test -p sinew --example mnist_convnet -- --nocapture`; the full 15
    /// epochs reach 99.23%, checked by `main`).
    #[test]
    fn mnist_convnet_short_run_reaches_98_percent() {
        let acc = super::run(2, 0).expect("MNIST must be present in ../shared/data/mnist (or $SINEW_DATA_DIR)");
        assert!(acc >= 0.98, "test accuracy {acc:.4} < 0.98");
    }
}
