//! The functional API: skip connections, several inputs and outputs, shared layers, per-output
//! losses and loss weights, saving, and the errors of a mis-wired graph.

use sinew_nn::{Activation, Add, Concatenate, Dense, Layer};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::*;

mod common;
use common::blobs;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sinew-functional-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// `out = Dense(1)(x + Dense(4, relu)(x))`.
fn residual(seed: u64) -> Model {
    let mut g = Functional::new().seed(seed);
    let x = g.input(&[4]);
    let h = g.call(Dense::new(4).activation(Activation::Relu), x).unwrap();
    let s = g.call(Add::new(), [x, h]).unwrap();
    let out = g.call(Dense::new(1).activation(Activation::Sigmoid), s).unwrap();
    g.model(x, out).unwrap()
}

/// Applies a built Dense layer by hand: `act(x W + b)`.
fn dense(l: &dyn Layer, x: &Tensor, act: Activation) -> Tensor {
    let p = l.params();
    act.apply(&x.matmul(&p[0].value).add(&p[1].value)).detach()
}

#[test]
fn a_skip_connection_computes_x_plus_f_x_and_trains() {
    let (x, y) = blobs(300, 1);
    let mut m = residual(1);
    m.compile(Optimizer::adam(0.02), "binary_crossentropy", &["accuracy"]).unwrap();
    // The graph computes exactly Dense(x + Dense(x)).
    let want = {
        let h = dense(m.get_layer("dense").unwrap(), &x, Activation::Relu);
        dense(m.get_layer("dense_1").unwrap(), &x.add(&h), Activation::Sigmoid)
    };
    let got = m.predict(&x, 64).unwrap();
    // Equal up to rounding (the layer fuses bias and activation; batching differs).
    for (g, w) in got.to_vec_f32().iter().zip(want.to_vec_f32()) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
    let h = m.fit(&x, &y, Fit::new().epochs(10).verbose(0)).unwrap();
    assert!(h["accuracy"][9] > 0.9, "{:?}", &h["accuracy"]);
}

/// Two inputs, concatenated; a regression head and a classification head.
fn two_headed(seed: u64) -> Model {
    let mut g = Functional::new().seed(seed);
    let a = g.named_input("left", &[4]);
    let b = g.named_input("right", &[2]);
    let ab = g.call(Concatenate::new(), [a, b]).unwrap();
    let h = g.call(Dense::new(8).activation(Activation::Tanh), ab).unwrap();
    let reg = g.call(Dense::new(1).name("value"), h).unwrap();
    let cls = g.call(Dense::new(1).activation(Activation::Sigmoid).name("label"), h).unwrap();
    g.model([a, b], [reg, cls]).unwrap()
}

#[test]
fn several_inputs_and_outputs_with_per_output_losses_and_weights() {
    let (x, y) = blobs(256, 2);
    let extra = Tensor::rand_normal([256, 2], 0.0, 1.0, &mut Rng::seed(3));
    // The regression target is a fixed linear function of both inputs.
    let target = x.sum(&[1], true).add(&extra.sum(&[1], true).mul_scalar(2.0));
    let mut m = two_headed(4);
    assert_eq!(m.output_names(), vec!["value", "label"]);
    m.compile(Optimizer::adam(0.02), ["mse", "binary_crossentropy"], &["accuracy"]).unwrap();
    m.set_loss_weights(&[0.5, 2.0]).unwrap();
    let h = m.fit([&x, &extra], [&target, &y], Fit::new().epochs(30).verbose(0).validation_split(0.25)).unwrap();
    let keys: Vec<&str> = h.keys().collect();
    for k in ["loss", "value_loss", "label_loss", "value_accuracy", "label_accuracy", "val_loss", "val_label_loss"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert!(h["value_loss"][29] < 0.5 * h["value_loss"][0], "{:?}", &h["value_loss"]);
    assert!(h["label_accuracy"][29] > 0.9, "{:?}", &h["label_accuracy"]);
    // The total is the weighted sum of the parts.
    let logs = m.evaluate([&x, &extra], [&target, &y], 64).unwrap();
    let (l, v, c) = (logs.get("loss").unwrap(), logs.get("value_loss").unwrap(), logs.get("label_loss").unwrap());
    assert!((l - (0.5 * v + 2.0 * c)).abs() < 1e-5 * l.max(1.0), "{l} vs 0.5*{v} + 2*{c}");
    let outs = m.predict_outputs([&x, &extra], 100).unwrap();
    assert_eq!((outs[0].dims(), outs[1].dims()), (&[256, 1][..], &[256, 1][..]));
    assert!(m.predict([&x, &extra], 100).err().unwrap().message.contains("use predict_outputs"));
}

#[test]
fn a_shared_layer_has_one_set_of_weights() {
    let mut g = Functional::new().seed(5);
    let (a, b) = (g.input(&[3]), g.input(&[3]));
    let shared = g.shared(Dense::new(2));
    let ea = g.call(shared, a).unwrap();
    let eb = g.call(shared, b).unwrap();
    let out = g.call(sinew_nn::Subtract::new(), [ea, eb]).unwrap();
    let mut m = g.model([a, b], out).unwrap();
    assert_eq!(m.layers().len(), 2);
    assert_eq!(m.get_weights().len(), 2, "kernel and bias once");
    let x = Tensor::rand_normal([5, 3], 0.0, 1.0, &mut Rng::seed(1));
    // The same input on both sides gives exactly zero.
    assert!(m.predict([&x, &x], 5).unwrap().to_vec_f32().iter().all(|&v| v == 0.0));
    let s = m.summary().unwrap();
    assert!(s.contains("Total params: 8"), "{s}");
    assert!(s.contains("Connected to") && s.contains("dense[1][0]") && s.contains("input_layer_1[0][0]"), "{s}");
}

#[test]
fn functional_models_save_and_load_with_identical_predictions() {
    let (x, y) = blobs(128, 6);
    let extra = Tensor::rand_normal([128, 2], 0.0, 1.0, &mut Rng::seed(7));
    let mut m = two_headed(8);
    m.compile(Optimizer::adam(0.01), ["mse", "binary_crossentropy"], &["accuracy"]).unwrap();
    m.set_loss_weights(&[1.0, 0.3]).unwrap();
    m.fit([&x, &extra], [&x.sum(&[1], true), &y], Fit::new().epochs(2).verbose(0)).unwrap();
    let path = tmp("two_headed.safetensors");
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    let (p, q) = (m.predict_outputs([&x, &extra], 64).unwrap(), back.predict_outputs([&x, &extra], 64).unwrap());
    assert_eq!(p[0].to_vec_f32(), q[0].to_vec_f32());
    assert_eq!(p[1].to_vec_f32(), q[1].to_vec_f32());
    assert_eq!(m.summary().unwrap(), back.summary().unwrap());
    // Compile config and optimizer state came back: one more step is identical in both.
    let t = [&x.sum(&[1], true), &y];
    let (a, b) = (m.train_on_batch([&x, &extra], t).unwrap(), back.train_on_batch([&x, &extra], t).unwrap());
    assert_eq!(a, b);
    assert!(a.get("label_loss").is_some());
}

#[test]
fn a_residual_model_saves_and_loads() {
    let (x, _) = blobs(20, 9);
    let mut m = residual(3);
    let path = tmp("residual.safetensors");
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    assert_eq!(m.predict(&x, 8).unwrap().to_vec_f32(), back.predict(&x, 8).unwrap().to_vec_f32());
}

#[test]
fn wiring_errors_are_clear() {
    let mut g = Functional::new();
    let a = g.input(&[4]);
    let b = g.input(&[3]);
    let e = g.call(Add::new(), [a, b]).err().unwrap();
    assert_eq!(e.message, "add (Add): inputs have incompatible shapes (None, 4) and (None, 3)");
    let shared = g.shared(Dense::new(2));
    g.call(shared, a).unwrap();
    let e = g.call(shared, b).err().unwrap();
    assert!(e.message.contains("shared layer dense was built for input shapes [[4]]"), "{}", e.message);
    let h = g.call(Dense::new(2), b).unwrap();
    let e = g.model(a, h).err().unwrap();
    assert!(e.message.contains("graph disconnected") && e.message.contains("input_layer_1"), "{}", e.message);

    let mut m = two_headed(1);
    m.compile(Optimizer::sgd(0.1), "mse", &[]).unwrap();
    let x = Tensor::zeros([3, 4]);
    let e = m.fit(&x, &x, Fit::new().verbose(0)).err().unwrap();
    assert!(e.message.contains("the model has 2 inputs [\"left\", \"right\"], got 1 tensors"), "{}", e.message);
    let e = m.evaluate([&x, &x], [&x, &x], 8).err().unwrap();
    assert!(
        e.message.contains("input 1 of layer concatenate is incompatible: expected per-sample shape [2]"),
        "{}",
        e.message
    );
    let e = m.compile(Optimizer::sgd(0.1), ["mse"], &[]).err().unwrap();
    assert!(e.message.contains("got 1 losses for a model with 2 outputs"), "{}", e.message);
    let e = m.pop().err().unwrap();
    assert!(e.message.contains("only a Sequential model"), "{}", e.message);
}

/// Keras `metrics=[["mae"], ["accuracy"]]`: each output reports its own metrics, and a saved
/// model keeps them.
#[test]
fn each_output_can_have_its_own_metrics() {
    let (x, y) = blobs(128, 4);
    let extra = Tensor::rand_normal([128, 2], 0.0, 1.0, &mut Rng::seed(5));
    let mut m = two_headed(8);
    m.compile(Optimizer::adam(0.01), ["mse", "binary_crossentropy"], &["accuracy"]).unwrap();
    assert!(m.set_output_metrics(&[vec!["mae"]]).is_err(), "one list per output");
    m.set_output_metrics(&[vec!["mae"], vec!["accuracy"]]).unwrap();
    let target = x.sum(&[1], true);
    let h = m.fit([&x, &extra], [&target, &y], Fit::new().epochs(2).verbose(0).validation_split(0.25)).unwrap();
    let keys: Vec<&str> = h.keys().collect();
    for k in ["value_mae", "label_accuracy", "val_value_mae", "val_label_accuracy"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert!(!keys.contains(&"value_accuracy") && !keys.contains(&"label_mae"), "{keys:?}");
    let path = tmp("output_metrics.sinew");
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    let a = m.evaluate([&x, &extra], [&target, &y], 64).unwrap();
    let b = back.evaluate([&x, &extra], [&target, &y], 64).unwrap();
    let names = |l: &Logs| l.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    assert!(names(&b).contains(&"value_mae".to_string()));
}
