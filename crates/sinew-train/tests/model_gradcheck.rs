//! Whole-model gradient checks (issue 22): the gradient autograd gives through a complete model,
//! every op and layer as the model composes them (fused conv + pooling, batch statistics, a
//! skip connection, a layer called twice), against central differences, in f64.
//!
//! The models are built as users build them (f32), then their weights and input are converted to
//! f64. A scalar `sum(model(x) * r)` with a fixed random `r` weights every output differently.
//! Every input element and up to 12 elements of each weight are checked.

use sinew_nn::{Activation, Add, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D};
use sinew_tensor::{no_grad, DType, Rng, Tensor};
use sinew_train::*;

fn f64_normal(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut Rng::seed(seed)).to_dtype(DType::F64)
}

/// The model's weights as f64 (trainable ones require grad again).
fn to_f64(m: &mut Model) {
    for l in m.layers_mut() {
        for p in l.params_mut() {
            let t = p.value.detach().to_dtype(DType::F64);
            p.value = if p.trainable { t.with_grad() } else { t };
        }
    }
}

/// Up to `k` indices spread over `0..n`.
fn spread(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        (0..n).collect()
    } else {
        (0..k).map(|i| i * (n - 1) / (k - 1)).collect()
    }
}

fn check(name: &str, m: &mut Model, x: &Tensor, training: bool) {
    to_f64(m);
    let r = f64_normal(&m.call(x, training).unwrap().dims().to_vec(), 77);
    let loss_of = |m: &mut Model, x: &Tensor| no_grad(|| m.call(x, training).unwrap().mul(&r).sum_all().item());
    let close = |what: &str, a: f64, num: f64| {
        assert!((a - num).abs() <= 1e-5 * (1.0 + num.abs()), "{name}: d/d{what}: autograd {a} vs numeric {num}");
    };
    let eps = 1e-6;
    let xg = x.with_grad();
    let grads = m.call(&xg, training).unwrap().mul(&r).sum_all().backward();

    // The input.
    let gx = grads.get(&xg).expect("the input gets a gradient").to_vec_f64();
    let base = x.to_vec_f64();
    for j in 0..base.len() {
        let mut at = |d: f64| {
            let mut v = base.clone();
            v[j] += d;
            loss_of(m, &Tensor::from_vec_f64(v, x.shape().clone()))
        };
        close(&format!("x[{j}]"), gx[j], (at(eps) - at(-eps)) / (2.0 * eps));
    }

    // Every trainable weight.
    let mut checked = 0;
    for li in 0..m.layers().len() {
        for pi in 0..m.layers()[li].params().len() {
            let p = m.layers()[li].params()[pi].clone();
            if !p.trainable {
                continue;
            }
            let what = format!("{}/{}", m.layers()[li].name(), p.name);
            let g = grads.get(&p.value).unwrap_or_else(|| panic!("{name}: {what} gets no gradient")).to_vec_f64();
            let base = p.value.to_vec_f64();
            for j in spread(base.len(), 12) {
                let mut at = |d: f64| {
                    let mut v = base.clone();
                    v[j] += d;
                    m.layers_mut()[li].params_mut()[pi].value =
                        Tensor::from_vec_f64(v, p.value.shape().clone()).with_grad();
                    let l = loss_of(m, x);
                    m.layers_mut()[li].params_mut()[pi].value = p.value.clone();
                    l
                };
                let num = (at(eps) - at(-eps)) / (2.0 * eps);
                close(&format!("{what}[{j}]"), g[j], num);
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "{name}: no weight was checked");
}

#[test]
fn model_gradcheck_mlp_with_dropout_off() {
    let mut m = Sequential::new();
    m.seed(1).input(&[5]);
    m.add(Dense::new(6).activation(Activation::Tanh));
    m.add(Dropout::new(0.3));
    m.add(Dense::new(4).activation(Activation::Relu));
    m.add(Dense::new(3).activation(Activation::Softmax));
    m.build().unwrap();
    // Inference mode: dropout is the identity, so the function is deterministic.
    check("mlp", &mut m, &f64_normal(&[4, 5], 2), false);
}

#[test]
fn model_gradcheck_cnn_with_batch_normalization_in_training_mode() {
    // The notes' CNN shape (conv + relu + max pooling, fused when recorded), with batch
    // normalization using the batch's statistics.
    let mut m = Sequential::new();
    m.seed(2).input(&[6, 6, 1]);
    m.add(Conv2D::new(3, &[3]).activation(Activation::Relu));
    m.add(MaxPooling2D::new());
    m.add(BatchNormalization::new());
    m.add(Flatten::new());
    m.add(Dense::new(2));
    m.build().unwrap();
    check("cnn_bn", &mut m, &f64_normal(&[3, 6, 6, 1], 3), true);
}

#[test]
fn model_gradcheck_functional_with_skip_and_shared_layer() {
    let mut g = Functional::new().seed(3);
    let x = g.input(&[4]);
    let shared = g.shared(Dense::new(4).activation(Activation::Tanh));
    let h = g.call(shared, x).unwrap();
    let h2 = g.call(shared, h).unwrap();
    let s = g.call(Add::new(), [x, h2]).unwrap();
    let out = g.call(Dense::new(2).activation(Activation::Sigmoid), s).unwrap();
    let mut m = g.model(x, out).unwrap();
    check("functional", &mut m, &f64_normal(&[3, 4], 4), false);
}
