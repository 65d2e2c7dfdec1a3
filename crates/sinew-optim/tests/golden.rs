//! 5-step golden trajectories against Keras 3 (fixtures from
//! `tests/fixtures/gen/gen_keras_optimizers.py`), and AdaMod and Backstitch against small
//! references written from their papers' update rules.

use serde_json::Value;
use sinew_optim::{LearningRate, Optimizer};
use sinew_tensor::Tensor;

/// A variable and its trainable flag, what the optimizer takes.
struct Param {
    value: Tensor,
    trainable: bool,
}

impl Param {
    fn trainable(_name: &str, value: Tensor) -> Self {
        Param { value: value.with_grad(), trainable: true }
    }
}

const FIXTURE: &str = include_str!("fixtures/keras_optimizers.json");

fn make(name: &str) -> Optimizer {
    match name {
        "sgd" => Optimizer::sgd(0.1),
        "sgd_momentum" => Optimizer::sgd_momentum(0.1, 0.9, false),
        "sgd_nesterov" => Optimizer::sgd_momentum(0.1, 0.9, true),
        "rmsprop" => Optimizer::rmsprop(0.01),
        "rmsprop_momentum_centered" => {
            Optimizer::new(sinew_optim::RmsProp { rho: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true }, 0.01)
        }
        "adam" => Optimizer::adam(0.01),
        "adam_amsgrad" => Optimizer::new(
            sinew_optim::Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: true, weight_decay: 0.0 },
            0.01,
        ),
        "adamw" => Optimizer::adamw(0.01, 0.004),
        "adagrad" => Optimizer::adagrad(0.1),
        "adadelta" => Optimizer::adadelta(1.0),
        "adamax" => Optimizer::adamax(0.01),
        "nadam" => Optimizer::nadam(0.01),
        "sgd_clipnorm" => Optimizer::sgd(0.1).clipnorm(0.5),
        "sgd_clipvalue" => Optimizer::sgd(0.1).clipvalue(0.25),
        "adam_global_clipnorm" => Optimizer::adam(0.01).global_clipnorm(0.5),
        other => panic!("no optimizer for fixture case {other}"),
    }
}

/// Runs `opt` over the fixed gradients, returning the variable after each step.
fn trajectory(opt: &mut Optimizer, var0: &[f32], grads: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mut p = Param::trainable("kernel", Tensor::from_vec(var0.to_vec(), [var0.len()]));
    grads
        .iter()
        .map(|g| {
            // A loss whose gradient is exactly g: sum(g * w).
            let gt = Tensor::from_vec(g.clone(), [g.len()]);
            let grads = p.value.mul(&gt).sum_all().backward();
            opt.apply(&mut [(&mut p.value, p.trainable)], &grads);
            p.value.to_vec_f32()
        })
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn optimizers_match_keras_golden_trajectories() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let var0 = floats(&root["var0"]);
    let grads: Vec<Vec<f32>> = root["grads"].as_array().unwrap().iter().map(floats).collect();
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let got = trajectory(&mut make(name), &var0, &grads);
        for (step, (g, w)) in got.iter().zip(c["trajectory"].as_array().unwrap()).enumerate() {
            for (i, (a, b)) in g.iter().zip(floats(w)).enumerate() {
                assert!(
                    (a - b).abs() <= 2e-6 * (1.0 + b.abs()),
                    "{name} step {} var[{i}]: sinew {a}, Keras {b}",
                    step + 1
                );
            }
        }
    }
}

#[test]
fn adamod_matches_the_paper_update_rule() {
    // Algorithm 1 of Ding et al. (2019), written out in f64 for one scalar per element.
    let var0 = [0.5f64, -1.0, 2.0];
    let grads = [[0.3, -0.2, 0.0], [0.1, 0.4, -1.0], [-0.5, 0.2, 0.3], [0.2, -0.1, 0.6], [0.7, 0.0, -0.2]];
    let (lr, b1, b2, b3, eps): (f64, f64, f64, f64, f64) = (0.01, 0.9, 0.999, 0.999, 1e-8);
    let mut w = var0.to_vec();
    let (mut m, mut v, mut s) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
    let mut want = vec![];
    for (t, g) in grads.iter().enumerate() {
        let t = (t + 1) as i32;
        for i in 0..3 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let (mh, vh) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
            let eta = lr / (vh.sqrt() + eps);
            s[i] = b3 * s[i] + (1.0 - b3) * eta;
            w[i] -= eta.min(s[i]) * mh;
        }
        want.push(w.clone());
    }
    let g32: Vec<Vec<f32>> = grads.iter().map(|g| g.iter().map(|&x| x as f32).collect()).collect();
    let v32: Vec<f32> = var0.iter().map(|&x| x as f32).collect();
    let got = trajectory(&mut Optimizer::adamod(lr), &v32, &g32);
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in g.iter().zip(w) {
            assert!((*a as f64 - b).abs() < 1e-6 * (1.0 + b.abs()), "AdaMod: {a} vs {b}");
        }
    }
}

#[test]
fn backstitch_takes_a_negative_then_a_positive_step() {
    // On the quadratic loss 0.5 * w², with SGD: w1 = w0 + a*lr*w0, then w2 = w1 - (1+a)*lr*w1.
    let (lr, a) = (0.1f64, 0.3f64);
    let mut opt = Optimizer::sgd(lr).backstitch(a);
    let alpha = opt.backstitch_alpha().unwrap();
    let mut p = Param::trainable("kernel", Tensor::from_vec(vec![2.0], [1]));
    let step = |p: &mut Param, opt: &mut Optimizer, scale: f64, count: bool| {
        let grads = p.value.square().mul_scalar(0.5).sum_all().backward();
        opt.apply_scaled(&mut [(&mut p.value, p.trainable)], &grads, scale, count);
    };
    step(&mut p, &mut opt, -alpha, false);
    step(&mut p, &mut opt, 1.0 + alpha, true);
    let w1 = 2.0 * (1.0 + a * lr);
    let w2 = w1 * (1.0 - (1.0 + a) * lr);
    assert!((p.value.item() - w2).abs() < 1e-6, "{} vs {w2}", p.value.item());
    assert_eq!(opt.iterations(), 1, "one backstitch pair is one iteration");
}

#[test]
fn optimizer_uses_the_schedule_at_each_iteration() {
    let sched = LearningRate::PiecewiseConstant { boundaries: vec![0], values: vec![1.0, 0.5] };
    let mut opt = Optimizer::sgd(sched);
    let mut p = Param::trainable("w", Tensor::from_vec(vec![0.0], [1]));
    for want in [-1.0, -1.5] {
        let grads = p.value.sum_all().backward();
        opt.apply(&mut [(&mut p.value, p.trainable)], &grads);
        assert_eq!(p.value.item(), want);
    }
}

#[test]
fn optimizer_skips_frozen_parameters() {
    let mut opt = Optimizer::adam(0.1);
    let mut p = Param::trainable("w", Tensor::from_vec(vec![1.0], [1]));
    let grads = p.value.sum_all().backward();
    p.trainable = false;
    opt.apply(&mut [(&mut p.value, p.trainable)], &grads);
    assert_eq!(p.value.item(), 1.0);
}

#[test]
fn large_variables_update_in_parallel_chunks_exactly_like_small_ones() {
    // 100_003 elements take the chunked parallel path; the same values split into variables
    // below the threshold take the plain one. Every rule is elementwise, so both must agree
    // bit for bit after a few steps (Adam exercises the slots, Nadam the step count).
    let n = 100_003;
    let w0: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    for make in [|| Optimizer::adam(0.01), || Optimizer::nadam(0.01), || Optimizer::sgd_momentum(0.1, 0.9, true)] {
        let mut big = Param::trainable("w", Tensor::from_vec(w0.clone(), [n]));
        let mut small: Vec<Param> =
            w0.chunks(40_000).map(|c| Param::trainable("w", Tensor::from_vec(c.to_vec(), [c.len()]))).collect();
        let (mut ob, mut os) = (make(), make());
        for _ in 0..3 {
            let g = big.value.square().sum_all().backward();
            ob.apply(&mut [(&mut big.value, big.trainable)], &g);
            let loss = small.iter().map(|p| p.value.square().sum_all()).reduce(|a, b| a.add(&b)).unwrap();
            let g = loss.backward();
            os.apply(&mut small.iter_mut().map(|p| (&mut p.value, p.trainable)).collect::<Vec<_>>(), &g);
        }
        let joined: Vec<f32> = small.iter().flat_map(|p| p.value.to_vec_f32()).collect();
        assert_eq!(big.value.to_vec_f32(), joined, "{}", ob.name());
    }
}
