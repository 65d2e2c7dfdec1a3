//! Resume equals uninterrupted (issue 22): for every update rule, schedule and clipping option,
//! a model trained N epochs, saved with its optimizer state, loaded and trained M more has the
//! weights, bit for bit, of the same model trained N + M epochs without stopping. Also after
//! the learning rate was replaced (what ReduceLROnPlateau does) before saving.

use sinew_nn::{Activation, Dense};
use sinew_optim::{LearningRate, Optimizer, RmsProp};
use sinew_tensor::Tensor;
use sinew_train::*;

mod common;
use common::blobs;

/// No dropout and no shuffling: every step is a function of the weights and the optimizer state
/// alone, which is what a saved model carries.
fn model(opt: Optimizer) -> Model {
    let mut m = Sequential::new();
    m.seed(7).input(&[4]);
    m.add(Dense::new(5).activation(Activation::Tanh));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(opt, "binary_crossentropy", &[]).unwrap();
    m
}

fn fit(m: &mut Model, x: &Tensor, y: &Tensor, epochs: usize) {
    m.fit(x, y, Fit::new().epochs(epochs).batch_size(16).shuffle(false).verbose(0)).unwrap();
}

fn weights(m: &Model) -> Vec<f32> {
    m.get_weights().iter().flat_map(|t| t.to_vec_f32()).collect()
}

/// Every optimizer configuration the issue names, by name.
fn cases() -> Vec<(String, Box<dyn Fn() -> Optimizer>)> {
    let rules: Vec<(&str, fn(LearningRate) -> Optimizer)> = vec![
        ("sgd", |lr| Optimizer::sgd(lr)),
        ("sgd_momentum", |lr| Optimizer::sgd_momentum(lr, 0.9, false)),
        ("sgd_nesterov", |lr| Optimizer::sgd_momentum(lr, 0.9, true)),
        ("rmsprop", |lr| Optimizer::rmsprop(lr)),
        ("rmsprop_centered", |lr| {
            Optimizer::new(RmsProp { rho: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true }, lr)
        }),
        ("adam", |lr| Optimizer::adam(lr)),
        ("adamw", |lr| Optimizer::adamw(lr, 0.004)),
        ("adagrad", |lr| Optimizer::adagrad(lr)),
        ("adadelta", |lr| Optimizer::adadelta(lr)),
        ("adamax", |lr| Optimizer::adamax(lr)),
        ("nadam", |lr| Optimizer::nadam(lr)),
        ("adamod", |lr| Optimizer::adamod(lr)),
        ("backstitch_sgd", |lr| Optimizer::sgd(lr).backstitch(0.3)),
        ("backstitch_adam", |lr| Optimizer::adam(lr).backstitch(0.3)),
    ];
    let schedules: Vec<(&str, fn() -> LearningRate)> = vec![
        ("constant", || LearningRate::Constant(0.05)),
        ("exponential", || LearningRate::ExponentialDecay {
            initial: 0.05,
            decay_steps: 3,
            decay_rate: 0.9,
            staircase: false,
        }),
        ("piecewise", || LearningRate::PiecewiseConstant { boundaries: vec![4, 9], values: vec![0.05, 0.02, 0.01] }),
        ("cosine", || LearningRate::CosineDecay { initial: 0.05, decay_steps: 20, alpha: 0.1 }),
    ];
    let clips: Vec<(&str, fn(Optimizer) -> Optimizer)> = vec![
        ("", |o| o),
        ("clipnorm", |o| o.clipnorm(0.1)),
        ("clipvalue", |o| o.clipvalue(0.01)),
        ("global_clipnorm", |o| o.global_clipnorm(0.1)),
    ];
    let mut out: Vec<(String, Box<dyn Fn() -> Optimizer>)> = vec![];
    for &(rule, make) in &rules {
        for &(sched, lr) in &schedules {
            for &(clip, with) in &clips {
                let name = format!("{rule}/{sched}/{}", if clip.is_empty() { "no clipping" } else { clip });
                out.push((name, Box::new(move || with(make(lr())))));
            }
        }
    }
    out
}

/// The largest absolute difference between two weight vectors (0.0 when bit-identical).
fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max)
}

#[test]
fn resume_equals_uninterrupted_for_every_optimizer_schedule_and_clipping() {
    let (x, y) = blobs(48, 3);
    let path = std::env::temp_dir().join(format!("sinew-resume-{}.sinew", std::process::id()));
    let mut failures = vec![];
    let all = cases();
    assert_eq!(all.len(), 14 * 4 * 4);
    for (name, make) in &all {
        // N = 2 epochs (6 steps), then M = 2 more, across the schedules' boundaries.
        let mut straight = model(make());
        fit(&mut straight, &x, &y, 4);

        let mut first = model(make());
        fit(&mut first, &x, &y, 2);
        first.save(&path).unwrap();
        let mut resumed = Model::load(&path).unwrap();
        fit(&mut resumed, &x, &y, 2);

        let (a, b) = (weights(&straight), weights(&resumed));
        if a != b {
            failures.push(format!("{name}: largest difference {}", largest_difference(&a, &b)));
        }
    }
    std::fs::remove_file(&path).ok();
    assert!(failures.is_empty(), "resumed training differs from uninterrupted:\n{}", failures.join("\n"));
}

#[test]
fn resume_keeps_a_replaced_learning_rate() {
    // ReduceLROnPlateau replaces the rate with a constant; a model saved afterwards resumes at it.
    let (x, y) = blobs(48, 4);
    let path = std::env::temp_dir().join(format!("sinew-resume-lr-{}.sinew", std::process::id()));
    for (name, make) in cases().iter().filter(|(n, _)| n.ends_with("/cosine/no clipping")) {
        let mut straight = model(make());
        fit(&mut straight, &x, &y, 2);
        straight.optimizer_mut().unwrap().set_learning_rate(0.003);
        fit(&mut straight, &x, &y, 2);

        let mut first = model(make());
        fit(&mut first, &x, &y, 2);
        first.optimizer_mut().unwrap().set_learning_rate(0.003);
        first.save(&path).unwrap();
        let mut resumed = Model::load(&path).unwrap();
        assert_eq!(resumed.optimizer().unwrap().learning_rate(), 0.003, "{name}");
        fit(&mut resumed, &x, &y, 2);
        let (a, b) = (weights(&straight), weights(&resumed));
        assert!(a == b, "{name}: largest difference {}", largest_difference(&a, &b));
    }
    std::fs::remove_file(&path).ok();
}
