//! Parity with Keras 3 for every loss: per-sample values, the reduced loss (with and without sample
//! weights) and its gradient with respect to y_pred. Fixtures from
//! `tests/fixtures/gen/gen_keras_loss_values.py`; this test never runs Python.

use serde_json::Value;
use sinew_nn::*;
use sinew_tensor::{DType, Tensor};

const FIXTURE: &str = include_str!("fixtures/keras_loss_values.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
fn dims(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn make(c: &Value) -> Box<dyn Loss> {
    let a = &c["args"];
    let flag = |k: &str| a[k].as_bool().unwrap_or(false);
    let num = |k: &str| a[k].as_f64().unwrap_or(0.0);
    match c["loss"].as_str().unwrap() {
        "binary_crossentropy" => {
            Box::new(BinaryCrossentropy { from_logits: flag("from_logits"), label_smoothing: num("label_smoothing") })
        }
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: num("label_smoothing"),
        }),
        "sparse_categorical_crossentropy" => {
            Box::new(SparseCategoricalCrossentropy { from_logits: flag("from_logits") })
        }
        "huber" => Box::new(PointwiseLoss::Huber(num("delta"))),
        other => loss_from_name(other).unwrap(),
    }
}

fn close(name: &str, what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: {what} length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{name}: {what}[{i}] sinew {a} vs Keras {b}");
    }
}

#[test]
fn losses_match_keras_values_and_gradients() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 22);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let loss = make(c);
        let yt = Tensor::from_vec_f64(floats(&c["y_true"]), dims(&c["y_true_shape"]));
        let yp = Tensor::from_vec_f64(floats(&c["y_pred"]), dims(&c["y_pred_shape"])).with_grad();
        let sw = c["sample_weight"].as_array().map(|_| {
            let w = floats(&c["sample_weight"]);
            let n = w.len();
            Tensor::from_vec_f64(w, [n])
        });
        // Keras' log_cosh subtracts log(2) computed in float32 (off by 1.9e-9); everything else
        // agrees to float64 rounding.
        let tol = if name == "log_cosh" { 1e-7 } else { 1e-9 };
        let per = loss.per_sample(&yt, &yp);
        close(name, "per_sample", &per.to_vec_f64(), &floats(&c["per_sample"]), tol);
        let reduced = reduce(&per, sw.as_ref(), Reduction::SumOverBatchSize);
        close(name, "reduced", &[reduced.item()], &[c["reduced"].as_f64().unwrap()], tol);
        let g = reduced.backward();
        let gy = g.get(&yp).map(|t| t.to_vec_f64()).unwrap_or_else(|| vec![0.0; yp.numel()]);
        close(name, "grad", &gy, &floats(&c["grad_y_pred"]), 1e-7);
    }
}

#[test]
fn losses_from_logits_equal_losses_on_probabilities() {
    let z = Tensor::rand_normal([6, 4], 0.0, 2.0, &mut sinew_tensor::Rng::seed(3)).to_dtype(DType::F64);
    let onehot = Tensor::one_hot(&[0, 3, 1, 1, 2, 0], 4).to_dtype(DType::F64);
    let ids = Tensor::from_vec_f64(vec![0., 3., 1., 1., 2., 0.], [6]);
    let bin = Tensor::bernoulli([6, 4], 0.5, &mut sinew_tensor::Rng::seed(4)).to_dtype(DType::F64);
    let pairs: Vec<(Box<dyn Loss>, &Tensor, Activation)> = vec![
        (Box::new(CategoricalCrossentropy::default()), &onehot, Activation::Softmax),
        (Box::new(CategoricalCrossentropy { from_logits: false, label_smoothing: 0.1 }), &onehot, Activation::Softmax),
        (Box::new(SparseCategoricalCrossentropy::default()), &ids, Activation::Softmax),
        (Box::new(BinaryCrossentropy::default()), &bin, Activation::Sigmoid),
    ];
    for (loss, y, act) in pairs {
        let p = act.apply(&z);
        let a = loss.per_sample(y, &p).to_vec_f64();
        let b = loss.per_sample_from_logits(y, &z, act).expect("logits path").to_vec_f64();
        close(loss.name(), "logits vs probabilities", &b, &a, 1e-6);
    }
}
