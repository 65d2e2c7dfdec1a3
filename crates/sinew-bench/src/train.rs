//! Whole training steps on the workloads the issues name, matching
//! `../shared/bench/peers/bench_torch.py` (same shapes, seeded synthetic data, one fixed batch
//! stepped repeatedly, 3 warm-up steps, median of 3 timed blocks).

use crate::timing::{emit, time_it};
use sinew_nn::{Activation, Dense, Dropout};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::Sequential;

fn dense(units: usize, act: Activation) -> Dense {
    Dense::new(units).activation(act)
}

/// b1_tabular_mlp: 78→78→39→19→1 with Dropout 0.2, BCE, Adam, batch 256.
fn b1(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_normal([256, 78], 0.0, 1.0, rng);
    let y = Tensor::bernoulli([256, 1], 0.5, rng);
    let mut m = Sequential::new();
    m.input(&[78]);
    m.add(dense(78, Activation::Relu)).add(Dropout::new(0.2));
    m.add(dense(39, Activation::Relu)).add(Dropout::new(0.2));
    m.add(dense(19, Activation::Relu)).add(dense(1, Activation::Sigmoid));
    m.compile(Optimizer::adam(1e-3), "binary_crossentropy", &[]).expect("b1 compiles");
    let t = time_it(|| drop(m.train_on_batch(&x, &y).unwrap()), 500, 3, 3);
    emit(json, "b1_tabular_mlp", &[("ms_per_step", t.median_ms)]);
}

/// b5_dense_autoencoder: 784→400→200→100→50→25→50→100→200→400→784, relu then sigmoid, BCE,
/// SGD lr 1.5, batch 32.
fn b5(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_uniform([32, 784], 0.0, 1.0, rng);
    let dims = [400, 200, 100, 50, 25, 50, 100, 200, 400];
    let mut m = Sequential::new();
    m.input(&[784]);
    for d in dims {
        m.add(dense(d, Activation::Relu));
    }
    m.add(dense(784, Activation::Sigmoid));
    m.compile(Optimizer::sgd(1.5), "binary_crossentropy", &[]).expect("b5 compiles");
    let t = time_it(|| drop(m.train_on_batch(&x, &x).unwrap()), 300, 3, 3);
    emit(json, "b5_dense_autoencoder", &[("ms_per_step", t.median_ms)]);
}

/// Runs the workloads whose names start with one of `only` (all when empty).
pub fn run(json: bool, only: &[&str]) {
    let mut rng = Rng::seed(0);
    let want = |n: &str| only.is_empty() || only.iter().any(|o| n.starts_with(o));
    if want("b1") {
        b1(json, &mut rng);
    }
    if want("b5") {
        b5(json, &mut rng);
    }
}
