//! The learning-rate range test and the one-cycle policy (issue 20): `OneCycle` gives PyTorch
//! `OneCycleLR`'s rate and momentum at every step (`tests/fixtures/torch_one_cycle.json`, from
//! `tests/fixtures/gen/gen_torch_one_cycle.py`), on SGD with momentum and on Adam's `beta_1`;
//! `lr_find` leaves the model exactly as it found it and suggests a rate inside its range.

use serde_json::Value;
use sinew_nn::{Activation, Dense};
use sinew_optim::Optimizer;
use sinew_train::*;

mod common;
use common::blobs;

fn model(opt: Optimizer) -> Model {
    let mut m = Sequential::new();
    m.seed(7).input(&[4]);
    m.add(Dense::new(8).activation(Activation::Tanh));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(opt, "binary_crossentropy", &[]).unwrap();
    m
}

fn bits(m: &Model) -> Vec<u32> {
    m.get_weights().iter().flat_map(|t| t.to_vec_f32()).map(f32::to_bits).collect()
}

#[test]
fn one_cycle_matches_pytorch_one_cycle_lr() {
    let f: Value = serde_json::from_str(include_str!("fixtures/torch_one_cycle.json")).unwrap();
    for case in f["cases"].as_array().unwrap() {
        let total = case["total_steps"].as_u64().unwrap() as usize;
        let cycle = OneCycle::new(case["max_lr"].as_f64().unwrap(), 1, total);
        for (step, (lr, m)) in
            case["lr"].as_array().unwrap().iter().zip(case["momentum"].as_array().unwrap()).enumerate()
        {
            let (got_lr, got_m) = cycle.at(step);
            let (lr, m) = (lr.as_f64().unwrap(), m.as_f64().unwrap());
            assert!(
                (got_lr - lr).abs() <= 1e-12 * lr.max(1e-9) + 1e-15,
                "{} step {step}: rate {got_lr} against {lr}",
                case["optimizer"]
            );
            assert!((got_m - m).abs() < 1e-12, "{} step {step}: momentum {got_m} against {m}", case["optimizer"]);
        }
    }
}

#[test]
fn a_fit_with_one_cycle_ends_on_the_cycles_last_rate_and_momentum() {
    let (x, y) = blobs(64, 1);
    for opt in [Optimizer::sgd_momentum(0.1, 0.9, false), Optimizer::adam(0.01)] {
        let mut m = model(opt);
        let mut cycle = OneCycle::new(0.05, 3, 4);
        let (lr_last, m_last) = cycle.at(11);
        m.fit(&x, &y, Fit::new().epochs(3).batch_size(16).shuffle(false).verbose(0).callback(&mut cycle)).unwrap();
        let o = m.optimizer().unwrap();
        assert!((o.learning_rate() - lr_last).abs() < 1e-15, "{} {}", o.learning_rate(), lr_last);
        assert!((o.momentum().unwrap() - m_last).abs() < 1e-6, "{:?} {m_last}", o.momentum());
    }
}

#[test]
fn lr_find_leaves_the_model_as_it_found_it() {
    let (x, y) = blobs(640, 2);
    let mut a = model(Optimizer::sgd_momentum(0.05, 0.9, false));
    let mut b = model(Optimizer::sgd_momentum(0.05, 0.9, false));
    // One epoch first, so the optimizer has slots and a step count to keep.
    for m in [&mut a, &mut b] {
        m.fit(&x, &y, Fit::new().epochs(1).batch_size(32).shuffle(false).verbose(0)).unwrap();
    }
    let before = bits(&a);
    let found = a.lr_find(&x, &y, &LrFindOptions::new().batch_size(8).max_steps(Some(80))).unwrap();
    assert_eq!(bits(&a), before, "the weights are put back");
    assert_eq!(a.optimizer().unwrap().iterations(), b.optimizer().unwrap().iterations());
    assert_eq!(a.optimizer().unwrap().learning_rate(), 0.05);
    // Training on from here gives what the untouched twin gives, bit for bit.
    for m in [&mut a, &mut b] {
        m.fit(&x, &y, Fit::new().epochs(1).batch_size(32).shuffle(false).verbose(0)).unwrap();
    }
    assert_eq!(bits(&a), bits(&b), "the optimizer's slots are put back too");

    let s = found.suggestion.expect("a suggestion");
    assert!(found.lrs.len() >= 10 && found.lrs.len() == found.smoothed.len());
    assert!(s > found.lrs[0] && s < *found.lrs.last().unwrap(), "{s}");
    // The loss falls somewhere in the range before the test ends.
    let min = found.smoothed.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(min < found.smoothed[0], "{:?}", found.smoothed);
    let err = a.lr_find(&x, &y, &LrFindOptions::new().max_steps(Some(1))).unwrap_err().to_string();
    assert!(err.contains("at least 2 steps"), "{err}");
    // Fewer samples than the steps take: the test goes round the data again.
    let mut fresh = model(Optimizer::sgd_momentum(0.05, 0.9, false));
    let small = fresh.lr_find(&x.narrow(0, 0, 64), &y.narrow(0, 0, 64), &LrFindOptions::new().batch_size(16)).unwrap();
    assert!(small.lrs.len() > 8, "{}", small.lrs.len());
}
