//! The RBM against scikit-learn's `BernoulliRBM` (`tests/fixtures/sklearn_rbm_digits.json`,
//! written by `tests/fixtures/gen/gen_sklearn_rbm.py`) on the 8x8 digits scaled to [0, 1]:
//! - two persistent CD-1 updates replayed with scikit-learn's own uniform draws give its
//!   weights, biases and chain;
//! - `transform`, the free energy and the pseudo-likelihood of the result match;
//! - one epoch with scikit-learn's hyperparameters reaches the same pseudo-log-likelihood
//!   within a tolerance, over five seeds each.

use flate2::read::GzDecoder;
use serde_json::Value;
use sinew_classic::{Rbm, RbmOptions, VisibleUnits};
use sinew_tensor::Tensor;
use std::io::Read;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/sklearn_rbm_digits.json")).unwrap()
}

/// The digits' pixels divided by 16, `[1797, 64]`.
fn digits() -> Tensor {
    let dir = sinew_data::find_dataset("sklearn-small").expect("../shared/data/sklearn-small is required");
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(dir.join("digits.csv.gz")).unwrap()).read_to_string(&mut text).unwrap();
    let mut x = vec![];
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let vals: Vec<f32> = line.split(',').map(|v| v.trim().parse().unwrap()).collect();
        x.extend(vals[..64].iter().map(|v| v / 16.0));
    }
    let n = x.len() / 64;
    Tensor::from_vec(x, [n, 64])
}

fn rows(x: &Tensor, idx: &[usize]) -> Tensor {
    let v = x.to_vec_f32();
    Tensor::from_vec(idx.iter().flat_map(|&i| v[i * 64..(i + 1) * 64].to_vec()).collect(), [idx.len(), 64])
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}[{i}]: {a} against scikit-learn's {b}");
    }
}

/// The RBM of the fixture's replayed steps, in scikit-learn's starting state.
fn replayed(f: &Value, x: &Tensor) -> Rbm {
    let (h, b) = (f["hidden"].as_u64().unwrap() as usize, f["batch"].as_u64().unwrap() as usize);
    let opts = RbmOptions::new().hidden(h).batch_size(b).learning_rate(f["learning_rate"].as_f64().unwrap());
    let mut rbm = Rbm::new(64, opts).unwrap();
    let s = &f["start"];
    rbm.set_parameters(
        &Tensor::from_vec(floats(&s["components"]), [h, 64]),
        &Tensor::from_vec(floats(&s["intercept_hidden"]), [h]),
        &Tensor::from_vec(floats(&s["intercept_visible"]), [64]),
    )
    .unwrap();
    rbm.set_chain(&Tensor::from_vec(floats(&s["h_samples"]), [b, h])).unwrap();
    for step in f["steps"].as_array().unwrap() {
        let mut u = floats(&step["uniform_visible"]);
        u.extend(floats(&step["uniform_hidden"]));
        rbm.partial_fit_with_uniforms(&rows(x, &indices(&step["rows"])), &u).unwrap();
        close("components", &rbm.weights().to_vec_f32(), &floats(&step["components"]), 1e-5);
        close("intercept_hidden", &rbm.hidden_bias().to_vec_f32(), &floats(&step["intercept_hidden"]), 1e-5);
        close("intercept_visible", &rbm.visible_bias().to_vec_f32(), &floats(&step["intercept_visible"]), 1e-5);
        assert_eq!(rbm.chain().to_vec_f32(), floats(&step["h_samples"]), "the persistent chain");
    }
    rbm
}

#[test]
fn persistent_cd_updates_replay_scikit_learns() {
    let f = fixture();
    replayed(&f, &digits());
}

#[test]
fn transform_free_energy_and_pseudo_likelihood_match() {
    let (f, x) = (fixture(), digits());
    let rbm = replayed(&f, &x);
    let s = &f["scores"];
    let batch = rows(&x, &indices(&s["rows"]));
    close("transform", &rbm.transform(&batch).unwrap().to_vec_f32(), &floats(&s["transform"]), 1e-5);
    close("free_energy", &rbm.free_energy(&batch).unwrap().to_vec_f32(), &floats(&s["free_energy"]), 1e-5);
    let pl = rbm.score_samples_at(&batch, &indices(&s["flip"])).unwrap();
    close("score_samples", &pl.to_vec_f32(), &floats(&s["score_samples"]), 1e-4);
}

/// The mean over rows and over every flipped bit of the pseudo-likelihood estimate: the
/// expectation of scikit-learn's `score_samples`, as the fixture records it.
fn expected_pll(rbm: &Rbm, x: &Tensor) -> f64 {
    let n = x.dims()[0];
    let total: f64 =
        (0..64).map(|j| rbm.score_samples_at(x, &vec![j; n]).unwrap().to_vec_f64().iter().sum::<f64>()).sum();
    total / (64 * n) as f64
}

#[test]
fn one_epoch_reaches_scikit_learns_pseudo_likelihood() {
    let (f, x) = (fixture(), digits());
    let e = &f["epoch"];
    let want = floats(&e["pll"]).iter().map(|&v| v as f64).collect::<Vec<_>>();
    let (lo, hi) = want.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let sklearn_mean = want.iter().sum::<f64>() / want.len() as f64;
    let mut got = vec![];
    for seed in 0..5 {
        let opts = RbmOptions::new()
            .hidden(e["n_components"].as_u64().unwrap() as usize)
            .learning_rate(e["learning_rate"].as_f64().unwrap())
            .batch_size(e["batch_size"].as_u64().unwrap() as usize)
            .shuffle(false)
            .seed(seed);
        let mut rbm = Rbm::new(64, opts).unwrap();
        rbm.fit(&x, 1).unwrap();
        got.push(expected_pll(&rbm, &x));
    }
    let mean = got.iter().sum::<f64>() / got.len() as f64;
    eprintln!("one epoch, pseudo-log-likelihood: sinew {got:.3?} (mean {mean:.3}); scikit-learn {want:.3?} (mean {sklearn_mean:.3})");
    // The seeds' spread in scikit-learn is about half a nat; the tolerance is that spread again.
    let slack = (hi - lo).max(0.25);
    assert!(
        (mean - sklearn_mean).abs() <= slack,
        "mean {mean:.3} against scikit-learn's {sklearn_mean:.3} (±{slack:.3})"
    );
    for g in &got {
        assert!(
            *g >= lo - slack && *g <= hi + slack,
            "seed's {g:.3} outside scikit-learn's [{lo:.3}, {hi:.3}] ± {slack:.3}"
        );
    }
}

#[test]
fn gaussian_units_learn_standardised_data_and_refuse_the_pseudo_likelihood() {
    let x = digits();
    // Standardise each column (constant columns stay 0).
    let (n, v) = (x.dims()[0], x.to_vec_f32());
    let mut z = v.clone();
    for j in 0..64 {
        let col: Vec<f32> = (0..n).map(|i| v[i * 64 + j]).collect();
        let mean = col.iter().sum::<f32>() / n as f32;
        let sd = (col.iter().map(|c| (c - mean).powi(2)).sum::<f32>() / n as f32).sqrt();
        for i in 0..n {
            z[i * 64 + j] = if sd > 0.0 { (v[i * 64 + j] - mean) / sd } else { 0.0 };
        }
    }
    let z = Tensor::from_vec(z, [n, 64]);
    let opts = RbmOptions::new()
        .hidden(64)
        .visible_units(VisibleUnits::Gaussian)
        .learning_rate(0.005)
        .batch_size(20)
        .gibbs_steps(1, false)
        .momentum(0.5)
        .weight_decay(1e-4);
    let mut rbm = Rbm::new(64, opts).unwrap();
    let before = rbm.reconstruction_error(&z).unwrap();
    let epochs = rbm.fit(&z, 20).unwrap();
    let after = rbm.reconstruction_error(&z).unwrap();
    eprintln!("Gaussian RBM on standardised digits: reconstruction error {before:.3} -> {after:.3}");
    assert!(epochs.iter().all(|e| e.pseudo_log_likelihood.is_none()));
    assert!(after < 0.6 * before, "reconstruction error {before:.3} -> {after:.3}");
    let err = rbm.pseudo_log_likelihood(&z).unwrap_err().to_string();
    assert!(err.contains("Bernoulli"), "{err}");
}

#[test]
fn bad_input_is_refused_with_the_value_named() {
    let mut rbm = Rbm::new(3, RbmOptions::new().hidden(2)).unwrap();
    let err = rbm.fit(&Tensor::from_vec(vec![0.0, 0.5, 1.5], [1, 3]), 1).unwrap_err().to_string();
    assert!(err.contains("sample 0, column 2: value 1.5") && err.contains("[0, 1]"), "{err}");
    let err = rbm.partial_fit(&Tensor::from_vec(vec![0.0; 4], [1, 4])).unwrap_err().to_string();
    assert!(err.contains("[samples, 3]") && err.contains("[1, 4]"), "{err}");
    let err = Rbm::new(3, RbmOptions::new().momentum(1.0)).err().unwrap().to_string();
    assert!(err.contains("momentum"), "{err}");
}
