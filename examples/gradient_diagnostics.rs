//! Training diagnostics on the notes' vanishing-gradient case: a deep MLP on MNIST, eight
//! hidden layers of 64 units, SGD 0.1, batches of 64, 3 epochs on 12,000 images with a fifth
//! held out for validation, first with sigmoid activations and Keras' default (Glorot)
//! initialisation, then with ReLU and He initialisation. `GradientDiagnostics` records each
//! layer's gradient norm on a probe batch every epoch; its findings say which run's gradients
//! vanish, and give the remedy.
//!
//! On 2026-12-07 (`cargo run --release --example gradient_diagnostics`, 1.3 s): with sigmoid
//! the first layer's gradient norm is 1.6e-5 against the last layer's 0.25 after 3 epochs (each
//! layer down the stack about 4 times smaller), the findings are vanishing gradients (the first
//! three layers) and underfitting (the loss went from 2.312 to 2.308), and the validation
//! accuracy is 10.71%. With ReLU and He initialisation every layer's norm stays between 0.20
//! and 0.85, there are no findings, and the validation accuracy is 93.62%. The test runs one
//! epoch of each and asserts that split.
//!
//! Data: `../shared/data/mnist`. Run: `cargo run --release --example gradient_diagnostics`.

use sinew::data::{find_dataset, load_mnist, to_categorical};
use sinew::nn::Initializer;
use sinew::prelude::*;
use sinew::train::{Finding, GradientDiagnostics, LayerTrace};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Outcome {
    layers: Vec<LayerTrace>,
    findings: Vec<Finding>,
    val_accuracy: f64,
}

fn run(relu: bool, epochs: usize) -> Res<Outcome> {
    let m = load_mnist(&find_dataset("mnist")?)?;
    let x = m.x_train.reshape([60_000, 784]).mul_scalar(1.0 / 255.0).narrow(0, 0, 12_000);
    let y = to_categorical(&m.y_train, 10)?.narrow(0, 0, 12_000);
    let mut model = Sequential::new();
    model.seed(1).input(&[784]);
    for _ in 0..8 {
        model.add(if relu {
            Dense::new(64).activation(Activation::Relu).kernel_initializer(Initializer::HeNormal)
        } else {
            Dense::new(64).activation(Activation::Sigmoid)
        });
    }
    model.add(Dense::new(10).activation(Activation::Softmax));
    model.compile(Optimizer::sgd(0.1), "categorical_crossentropy", &["accuracy"])?;
    let mut diag = GradientDiagnostics::new(x.narrow(0, 0, 256), y.narrow(0, 0, 256));
    let history = model.fit(
        &x,
        &y,
        Fit::new().batch_size(64).epochs(epochs).validation_split(0.2).verbose(0).callback(&mut diag),
    )?;
    Ok(Outcome {
        findings: diag.findings(&history),
        val_accuracy: *history.get("val_accuracy").and_then(|v| v.last()).unwrap_or(&f64::NAN),
        layers: diag.layers,
    })
}

fn main() -> Res<()> {
    for relu in [false, true] {
        let o = run(relu, 3)?;
        let name = if relu { "ReLU, He initialisation" } else { "sigmoid, Glorot initialisation" };
        println!("{name}: validation accuracy {:.2}%", 100.0 * o.val_accuracy);
        for l in &o.layers {
            println!(
                "  {:<8} gradient norm by epoch {:?}",
                l.name,
                l.grad_norm.iter().map(|g| format!("{g:.1e}")).collect::<Vec<_>>()
            );
        }
        for f in &o.findings {
            println!("  {}: {}; remedy: {}", f.kind, f.evidence, f.remedy);
        }
        if o.findings.is_empty() {
            println!("  no findings");
        }
    }
    Ok(())
}

#[test]
fn sigmoid_gradients_vanish_and_relu_he_ones_do_not() {
    let sigmoid = run(false, 1).unwrap();
    let relu = run(true, 1).unwrap();
    let first = |o: &Outcome| o.layers[0].grad_norm[0];
    let last = |o: &Outcome| o.layers.last().unwrap().grad_norm[0];
    eprintln!(
        "sigmoid: first {:.2e} last {:.2e}; relu: first {:.2e} last {:.2e}",
        first(&sigmoid),
        last(&sigmoid),
        first(&relu),
        last(&relu)
    );
    assert!(sigmoid.findings.iter().any(|f| f.kind == "vanishing gradients"), "{:?}", sigmoid.findings);
    assert!(!relu.findings.iter().any(|f| f.kind == "vanishing gradients"), "{:?}", relu.findings);
    assert!(relu.val_accuracy > sigmoid.val_accuracy);
}
