//! Keras semantics that need exact expectations: callbacks driven by a scripted loss, the fit
//! arguments (sample_weight, initial_epoch), the *_on_batch calls, Backstitch through the model,
//! freezing, custom layers, and target-shape errors.

use serde_json::{json, Value};
use sinew_nn::{register_layer, Activation, Ctx, Dense, Layer, LayerConfig, Param};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::*;

mod common;
use common::blobs;

fn weights(m: &Model) -> Vec<Vec<f32>> {
    m.get_weights().iter().map(|t| t.to_vec_f32()).collect()
}

/// A small model with no dropout, so every step is deterministic.
fn mlp(seed: u64, opt: Optimizer) -> Sequential {
    let mut m = Sequential::new();
    m.seed(seed).input(&[4]);
    m.add(Dense::new(6).activation(Activation::Tanh));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(opt, "binary_crossentropy", &["accuracy"]).unwrap();
    m
}

/// Fits for `losses.len()` epochs of one batch each, where the training step reports
/// `losses[epoch]` as the loss: callbacks then see exactly that sequence.
fn scripted(losses: &[f64], cb: &mut dyn Callback, extra: Option<&mut dyn Callback>) -> History {
    let (x, y) = blobs(8, 0);
    let mut m = mlp(0, Optimizer::sgd(1.0));
    let mut epoch = 0;
    let mut fit = Fit::new()
        .epochs(losses.len())
        .batch_size(8)
        .verbose(0)
        .train_step(|_, _, _| {
            epoch += 1;
            Ok(losses[epoch - 1])
        })
        .callback(cb);
    if let Some(e) = extra {
        fit = fit.callback(e);
    }
    m.fit(&x, &y, fit).unwrap()
}

#[test]
fn early_stopping_patience_counts_epochs_without_improvement() {
    let mut es = EarlyStopping::new("loss").patience(2);
    let h = scripted(&[1.0, 0.9, 0.95, 0.96, 0.5, 0.4], &mut es, None);
    assert_eq!(h.epoch, vec![0, 1, 2, 3]);
    assert_eq!(es.stopped_epoch, Some(3));
}

#[test]
fn early_stopping_min_delta_ignores_small_improvements() {
    let mut es = EarlyStopping::new("loss").patience(1).min_delta(0.2);
    let h = scripted(&[1.0, 0.9, 0.5, 0.4], &mut es, None);
    assert_eq!(es.stopped_epoch, Some(1), "0.9 is not 0.2 better than 1.0");
    assert_eq!(h.epoch.len(), 2);
}

#[test]
fn early_stopping_baseline_must_be_beaten_to_reset_patience() {
    let flat = [1.0; 6];
    let mut with = EarlyStopping::new("loss").patience(2).baseline(0.5);
    scripted(&flat, &mut with, None);
    let mut without = EarlyStopping::new("loss").patience(2);
    scripted(&flat, &mut without, None);
    // Keras: the first epoch counts towards patience unless it beats the baseline.
    assert_eq!(with.stopped_epoch, Some(1));
    assert_eq!(without.stopped_epoch, Some(2));
}

#[test]
fn early_stopping_start_from_epoch_and_mode_max() {
    let mut es = EarlyStopping::new("loss").patience(1).start_from_epoch(3);
    scripted(&[1.0; 8], &mut es, None);
    assert_eq!(es.stopped_epoch, Some(4), "epochs 0-2 are a warm-up");
    let mut max = EarlyStopping::new("loss").patience(1).mode(Mode::Max);
    scripted(&[1.0, 2.0, 3.0, 2.0, 1.0], &mut max, None);
    assert_eq!(max.stopped_epoch, Some(3));
}

#[test]
fn reduce_lr_on_plateau_cooldown_and_min_lr() {
    let mut r = ReduceLrOnPlateau::new("loss").patience(1).factor(0.5).cooldown(2).min_lr(0.3);
    let mut seen = vec![];
    let mut rec = OnEpochEnd(|_, _, c: &mut Control| seen.push(c.learning_rate()));
    scripted(&[1.0; 6], &mut r, Some(&mut rec));
    assert_eq!(seen, vec![1.0, 0.5, 0.5, 0.3, 0.3, 0.3]);
}

#[test]
fn early_stopping_restore_best_weights_restores_the_best_epoch() {
    let (x, y) = blobs(128, 1);
    let mut m = mlp(1, Optimizer::sgd(0.5));
    // From epoch 3 on, a huge rate makes the loss worse, so epoch 2 (or earlier) stays best.
    let mut sched = LearningRateScheduler(|epoch, _| if epoch >= 3 { 200.0 } else { 0.5 });
    let mut per_epoch: Vec<(f64, Vec<Vec<f32>>)> = vec![];
    let mut rec = OnEpochEnd(|_, logs: &Logs, c: &mut Control| {
        per_epoch.push((logs.get("loss").unwrap(), c.get_weights().iter().map(|t| t.to_vec_f32()).collect()))
    });
    let mut es = EarlyStopping::new("loss").patience(2).restore_best_weights(true);
    let fit = Fit::new().epochs(30).batch_size(32).verbose(0).shuffle(false);
    let h = m.fit(&x, &y, fit.callback(&mut sched).callback(&mut rec).callback(&mut es)).unwrap();
    assert!(h.epoch.len() < 30, "the diverging rate never stopped training");
    let best = per_epoch.iter().enumerate().min_by(|a, b| a.1 .0.total_cmp(&b.1 .0)).unwrap().0;
    assert_eq!(es.best_epoch, best);
    assert_ne!(best, per_epoch.len() - 1, "the last epoch should not be the best");
    assert_eq!(weights(&m), per_epoch[best].1, "weights are not those of the best epoch");
}

#[test]
fn batch_hooks_fire_in_order_for_every_step() {
    struct Trace(Vec<String>);
    impl Callback for Trace {
        fn on_train_batch_begin(&mut self, b: usize, _c: &mut Control) {
            self.0.push(format!("begin {b}"));
        }
        fn on_train_batch_end(&mut self, b: usize, _l: &Logs, _c: &mut Control) {
            self.0.push(format!("end {b}"));
        }
    }
    let (x, y) = blobs(70, 2);
    let mut m = mlp(2, Optimizer::adam(0.01));
    let mut t = Trace(vec![]);
    m.fit(&x, &y, Fit::new().epochs(2).batch_size(32).verbose(0).callback(&mut t)).unwrap();
    let one_epoch = ["begin 0", "end 0", "begin 1", "end 1", "begin 2", "end 2"];
    assert_eq!(t.0, [one_epoch, one_epoch].concat());
}

#[test]
fn sample_weight_zero_equals_training_without_those_samples() {
    // Keras sum_over_batch_size divides by the batch size, weights or not: zero weights on half
    // the batch halve the gradient, so SGD at twice the rate matches training on the other half.
    let (x, y) = blobs(64, 3);
    let w = Tensor::from_vec((0..64).map(|i| if i < 32 { 1.0 } else { 0.0 }).collect(), [64]);
    let mut weighted = mlp(3, Optimizer::sgd(0.2));
    let fit = Fit::new().epochs(3).batch_size(64).verbose(0).shuffle(false);
    weighted.fit(&x, &y, fit.sample_weight(&w)).unwrap();
    let mut half = mlp(3, Optimizer::sgd(0.1));
    let fit = Fit::new().epochs(3).batch_size(32).verbose(0).shuffle(false);
    half.fit(&x.narrow(0, 0, 32), &y.narrow(0, 0, 32), fit).unwrap();
    for (a, b) in weights(&weighted).iter().flatten().zip(weights(&half).iter().flatten()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn initial_epoch_resumes_the_epoch_count() {
    let (x, y) = blobs(32, 4);
    let mut m = mlp(4, Optimizer::adam(0.01));
    let h = m.fit(&x, &y, Fit::new().epochs(5).initial_epoch(3).verbose(0)).unwrap();
    assert_eq!(h.epoch, vec![3, 4]);
}

#[test]
fn on_batch_calls_match_evaluate_and_predict() {
    let (x, y) = blobs(40, 5);
    let mut m = mlp(5, Optimizer::adam(0.01));
    let before = weights(&m);
    let tob = m.test_on_batch(&x, &y).unwrap();
    assert_eq!(weights(&m), before, "test_on_batch must not train");
    let ev = m.evaluate(&x, &y, 40).unwrap();
    assert!((tob.get("loss").unwrap() - ev.get("loss").unwrap()).abs() < 1e-6);
    assert_eq!(tob.get("accuracy"), ev.get("accuracy"));
    assert_eq!(m.predict_on_batch(&x).unwrap().to_vec_f32(), m.predict(&x, 16).unwrap().to_vec_f32());
    let first = m.train_on_batch(&x, &y).unwrap().get("loss").unwrap();
    assert!((first - ev.get("loss").unwrap()).abs() < 1e-6, "train_on_batch reports the loss before its step");
    assert_ne!(weights(&m), before);
}

#[test]
fn backstitch_through_the_model_takes_both_sub_steps() {
    // y = w x with x = 1, target 0, MSE: loss w², gradient 2w. Backstitch with SGD:
    // w1 = w0 + alpha lr 2 w0, then w2 = w1 - (1 + alpha) lr 2 w1.
    let (lr, a) = (0.1f64, Optimizer::BACKSTITCH_ALPHA);
    let mut m = Sequential::new();
    m.input(&[1]);
    m.add(Dense::new(1).use_bias(false));
    m.compile(Optimizer::sgd(lr).backstitch(a), "mse", &[]).unwrap();
    let w0 = m.get_weights()[0].item();
    m.train_on_batch(&Tensor::ones([1, 1]), &Tensor::zeros([1, 1])).unwrap();
    let w1 = w0 * (1.0 + a * lr * 2.0);
    let w2 = w1 * (1.0 - (1.0 + a) * lr * 2.0);
    assert!((m.get_weights()[0].item() - w2).abs() < 1e-6, "{} vs {w2}", m.get_weights()[0].item());
    assert_eq!(m.optimizer().unwrap().iterations(), 1);
}

#[test]
fn frozen_layers_do_not_train_and_stay_frozen_after_load() {
    let (x, y) = blobs(64, 6);
    let mut m = mlp(6, Optimizer::adam(0.05));
    m.get_layer_mut("dense").unwrap().set_trainable(false);
    assert!(!m.get_layer("dense").unwrap().trainable());
    let s = m.summary().unwrap();
    assert!(s.contains("Trainable params: 7 ") && s.contains("Non-trainable params: 30 "), "{s}");
    let before = weights(&m);
    m.fit(&x, &y, Fit::new().epochs(2).verbose(0)).unwrap();
    let after = weights(&m);
    assert_eq!(after[..2], before[..2], "the frozen layer changed");
    assert_ne!(after[2..], before[2..], "the trainable layer did not change");
    let path = std::env::temp_dir().join(format!("sinew-frozen-{}.safetensors", std::process::id()));
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(!back.get_layer("dense").unwrap().trainable());
    assert!(back.get_layer("dense_1").unwrap().trainable());
    back.fit(&x, &y, Fit::new().epochs(1).verbose(0)).unwrap();
    assert_eq!(weights(&back)[..2], before[..2]);
}

#[test]
fn pop_removes_the_last_layer() {
    let mut m = Sequential::new();
    m.input(&[4]);
    m.add(Dense::new(5)).add(Dense::new(3)).add(Dense::new(2));
    m.build().unwrap();
    m.pop().unwrap();
    assert_eq!(m.output_shape(), Some(&[3usize][..]));
    assert_eq!(m.layers().len(), 2);
    assert_eq!(m.predict(&Tensor::zeros([2, 4]), 2).unwrap().dims(), &[2, 3]);
}

/// A custom layer (Keras: subclass `Layer`): multiplies by a learned per-feature scale.
struct Scale;
struct ScaleLayer {
    name: String,
    shape: Vec<usize>,
    scale: Param,
}

impl LayerConfig for Scale {
    fn class_name(&self) -> &'static str {
        "Scale"
    }
    fn name(&self) -> Option<&str> {
        None
    }
    fn build(&self, name: String, input_shape: &[usize], _rng: &mut Rng) -> sinew_nn::Result<Box<dyn Layer>> {
        let scale = Param::trainable("scale", Tensor::ones([input_shape[input_shape.len() - 1]]));
        Ok(Box::new(ScaleLayer { name, shape: input_shape.to_vec(), scale }))
    }
}

impl Layer for ScaleLayer {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "Scale"
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        x.mul(&self.scale.value)
    }
    fn params(&self) -> Vec<&Param> {
        vec![&self.scale]
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.scale]
    }
    fn config(&self) -> Value {
        json!({"class_name": "Scale", "name": self.name})
    }
}

#[test]
fn custom_layers_train_save_and_load_once_registered() {
    // Targets are 3 * x, so the scale must learn 3.
    let mut rng = Rng::seed(7);
    let x = Tensor::rand_normal([64, 2], 0.0, 1.0, &mut rng);
    let mut m = Sequential::new();
    m.input(&[2]);
    m.add(Scale);
    m.compile(Optimizer::sgd(0.1), "mse", &[]).unwrap();
    m.fit(&x, &x.mul_scalar(3.0), Fit::new().epochs(40).batch_size(16).verbose(0)).unwrap();
    for s in m.get_weights()[0].to_vec_f32() {
        assert!((s - 3.0).abs() < 1e-3, "scale {s}");
    }
    let path = std::env::temp_dir().join(format!("sinew-custom-{}.safetensors", std::process::id()));
    m.save(&path).unwrap();
    let e = Model::load(&path).err().unwrap();
    assert!(
        e.message.contains("unknown layer class \"Scale\"") && e.message.contains("register_layer"),
        "{}",
        e.message
    );
    register_layer("Scale", |_| Ok(Box::new(Scale))).unwrap();
    assert!(register_layer("Dense", |_| Ok(Box::new(Scale))).is_err(), "built-ins cannot be replaced");
    let mut back = Model::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(back.predict(&x, 64).unwrap().to_vec_f32(), m.predict(&x, 64).unwrap().to_vec_f32());
}

#[test]
fn wrong_targets_are_errors_not_panics() {
    let (x, y) = blobs(16, 8);
    let mut m = mlp(8, Optimizer::adam(0.01));
    let e = m.fit(&x, &y.reshape([16]), Fit::new().verbose(0)).err().unwrap();
    assert!(
        e.message.contains("per-sample shape [] (y has shape [16])") && e.message.contains("reshape y to [16, 1]"),
        "{}",
        e.message
    );
    let e = m.train_on_batch(&x, &Tensor::zeros([16, 3])).err().unwrap();
    assert!(e.message.contains("binary_crossentropy: targets have per-sample shape [3]"), "{}", e.message);
    assert!(m.evaluate(&x, &Tensor::zeros([16, 2]), 8).is_err());

    let mut c = Sequential::new();
    c.input(&[4]);
    c.add(Dense::new(3).activation(Activation::Softmax));
    c.compile(Optimizer::adam(0.01), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    let ids = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], [4]);
    let e = c.fit(&x.narrow(0, 0, 4), &ids, Fit::new().verbose(0)).err().unwrap();
    assert!(e.message.contains("target 3 is 3, not a class id in [0, 3)"), "{}", e.message);
    let e = c.fit(&x.narrow(0, 0, 4), &Tensor::zeros([4, 3]), Fit::new().verbose(0)).err().unwrap();
    assert!(e.message.contains("class ids of shape [batch] or [batch, 1]"), "{}", e.message);
    let ok = Tensor::from_vec(vec![0.0, 1.0, 2.0, 1.0], [4]);
    c.fit(&x.narrow(0, 0, 4), &ok, Fit::new().verbose(0)).unwrap();
}

#[test]
fn predict_is_the_same_whatever_the_batch_size() {
    // predict runs large batches in cache-sized sub-batches; the result must not depend on it.
    let (x, _) = blobs(300, 9);
    let mut m = mlp(9, Optimizer::adam(0.01));
    let whole = m.predict(&x, 300).unwrap().to_vec_f32();
    assert_eq!(whole.len(), 300);
    assert_eq!(whole, m.predict(&x, 7).unwrap().to_vec_f32());
    assert_eq!(whole, m.predict_on_batch(&x).unwrap().to_vec_f32());
}

#[test]
fn a_cnn_saves_and_loads_with_identical_predictions() {
    use sinew_nn::{BatchNormalization, Conv2D, Flatten, GlobalAveragePooling2D, MaxPooling2D, Padding};
    let mut rng = Rng::seed(11);
    let x = Tensor::rand_uniform([6, 8, 8, 1], 0.0, 1.0, &mut rng);
    let y = Tensor::from_vec(vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0], [6]);
    let mut m = Sequential::new();
    m.seed(3).input(&[8, 8, 1]);
    m.add(Conv2D::new(4, &[3]).padding(Padding::Same).activation(Activation::Relu));
    m.add(BatchNormalization::new());
    m.add(MaxPooling2D::new());
    m.add(Conv2D::new(6, &[3]).activation(Activation::Relu));
    m.add(GlobalAveragePooling2D::new());
    m.add(Flatten::new());
    m.add(Dense::new(3).activation(Activation::Softmax));
    m.compile(Optimizer::adam(0.01), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    m.fit(&x, &y, Fit::new().epochs(2).batch_size(3).verbose(0)).unwrap();
    let path = std::env::temp_dir().join(format!("sinew-cnn-{}.safetensors", std::process::id()));
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(back.predict(&x, 6).unwrap().to_vec_f32(), m.predict(&x, 6).unwrap().to_vec_f32());
    let s = back.summary().unwrap();
    assert!(
        s.contains("conv2d (Conv2D)") && s.contains("(None, 8, 8, 4)") && s.contains("max_pooling2d (MaxPooling2D)"),
        "{s}"
    );
    assert!(s.contains("Non-trainable params: 8 "), "BatchNormalization's moving statistics: {s}");
}

#[test]
fn predict_fuses_conv_and_max_pooling_without_changing_the_result() {
    use sinew_nn::{Conv2D, Flatten, MaxPooling2D};
    use sinew_tensor::{Activation as Act, Conv2dOpts, Pool2dOpts};
    let x = Tensor::rand_normal([5, 9, 9, 2], 0.0, 1.0, &mut Rng::seed(4));
    let mut m = Sequential::new();
    m.seed(2).input(&[9, 9, 2]);
    m.add(Conv2D::new(3, &[3]).activation(Activation::Relu));
    m.add(MaxPooling2D::new());
    m.add(Flatten::new());
    m.add(Dense::new(2));
    let got = m.predict(&x, 5).unwrap().to_vec_f32();
    let w = m.get_weights();
    let want = x
        .conv2d(&w[0], Conv2dOpts::default())
        .bias_act(&w[1], Act::Relu)
        .max_pool2d(Pool2dOpts::square(2))
        .reshape([5, 27])
        .matmul(&w[2])
        .add(&w[3])
        .to_vec_f32();
    assert_eq!(got.len(), want.len());
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "output {i}: fused {a} vs chain {b}");
    }
}

#[test]
fn predict_on_threads_matches_predict_on_one_sub_batch_at_a_time() {
    // Over 65,536 weights and more rows than one sub-batch, so predict runs sub-batches on
    // every thread through copies of the layers; ten rows at a time stay on one thread.
    let mut m = Sequential::new();
    m.seed(5).input(&[256]);
    m.add(Dense::new(300).activation(Activation::Relu));
    m.add(Dense::new(3).activation(Activation::Softmax));
    let x = Tensor::rand_normal([200, 256], 0.0, 1.0, &mut Rng::seed(8));
    let whole = m.predict(&x, 200).unwrap().to_vec_f32();
    assert!(m.count_params() >= 65_536);
    let mut parts = vec![];
    for s in (0..200).step_by(10) {
        parts.extend(m.predict(&x.narrow(0, s, 10), 10).unwrap().to_vec_f32());
    }
    assert_eq!(whole, parts);
}

/// Issue 14: the notes' ANN never states an input shape. As in Keras, a Sequential model
/// without `input()` compiles, and builds from the data on its first `fit` (or `predict`).
#[test]
fn sequential_without_input_builds_on_first_fit_or_predict() {
    let (x, y) = blobs(64, 5);
    let mut m = Sequential::new();
    m.seed(3);
    m.add(Dense::new(6).activation(Activation::Relu));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(Optimizer::adam(0.05), "binary_crossentropy", &["accuracy"]).unwrap();
    assert!(m.summary().unwrap_err().to_string().contains("first `fit`"), "summary before the first fit");
    let h = m.fit(&x, &y, Fit::new().epochs(30).batch_size(16).verbose(0)).unwrap();
    assert!(h["accuracy"].last().unwrap() > &0.9, "{:?}", &h["accuracy"]);
    assert_eq!(m.input_shape(), Some(&[x.dims()[1]][..]));
    assert_eq!(m.count_params(), x.dims()[1] * 6 + 6 + 7);

    let mut p = Sequential::new();
    p.add(Dense::new(2));
    assert_eq!(p.predict(&x, 32).unwrap().dims(), [x.dims()[0], 2]);
}

/// Issue 14: a layer error keeps its kind and fields on its way through the model.
#[test]
fn layer_errors_keep_their_cause_through_the_model() {
    let e: Error =
        sinew_nn::layer_from_args("Dense", json!({"units": "two"}).as_object().unwrap()).err().unwrap().into();
    assert_eq!(e.kind, ErrorKind::Config);
    let layer = e.layer_error().expect("the sinew-nn error is kept");
    assert_eq!(layer.argument.as_deref(), Some("units"));
    assert_eq!(e.message, layer.message);
}
