//! Keras semantics of Sequential: fit/evaluate/predict, callbacks, History, saving, and clear
//! errors (never panics) on bad input and bad files.

use sinew_nn::{Activation, Dense, Dropout};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::*;

mod common;
use common::blobs;

fn model(seed: u64) -> Sequential {
    let mut m = Sequential::new();
    m.seed(seed).input(&[4]);
    m.add(Dense::new(8).activation(Activation::Relu));
    m.add(Dropout::new(0.1));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(Optimizer::adam(0.01), "binary_crossentropy", &["accuracy"]).unwrap();
    m
}

/// A path in a folder of its own (tests run in parallel; the atomic-write check lists its folder).
fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir()
        .join(format!("sinew-train-tests-{}", std::process::id()))
        .join(name.replace(['{', '}'], "_"));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn fit_learns_and_history_records_every_epoch() {
    let (x, y) = blobs(400, 1);
    let mut m = model(1);
    let h = m.fit(&x, &y, Fit::new().epochs(8).verbose(0).validation_split(0.25)).unwrap();
    assert_eq!(h.epoch, (0..8).collect::<Vec<_>>());
    assert_eq!(h.keys().collect::<Vec<_>>(), vec!["loss", "accuracy", "val_loss", "val_accuracy"]);
    assert!(h["loss"][7] < h["loss"][0], "loss did not fall: {:?}", &h["loss"]);
    assert!(h["val_accuracy"][7] > 0.9, "{:?}", &h["val_accuracy"]);
    // evaluate on the held-out quarter (the last 100 samples) reproduces val_loss.
    let logs = m.evaluate(&x.narrow(0, 300, 100), &y.narrow(0, 300, 100), 32).unwrap();
    assert!((logs.get("loss").unwrap() - h["val_loss"][7]).abs() < 1e-5);
    let p = m.predict(&x, 64).unwrap();
    assert_eq!(p.dims(), &[400, 1]);
    assert!(p.to_vec_f32().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn fit_is_reproducible_from_a_seed() {
    let (x, y) = blobs(200, 2);
    let run = || model(7).fit(&x, &y, Fit::new().epochs(3).verbose(0)).unwrap()["loss"].to_vec();
    assert_eq!(run(), run());
}

#[test]
fn cnn_fit_is_reproducible_from_a_seed() {
    // Conv2D + MaxPooling2D train as one fused op whose weight gradient sums images split
    // across threads (batch 16 of 28x28 is over the split threshold): still bit-identical.
    use sinew_nn::{Conv2D, Flatten, MaxPooling2D};
    let mut rng = Rng::seed(6);
    let x = Tensor::rand_uniform([64, 28, 28, 1], 0.0, 1.0, &mut rng);
    let y = Tensor::from_vec((0..64).map(|i| (i % 10) as f32).collect(), [64]);
    let run = || {
        let mut m = Sequential::new();
        m.seed(9).input(&[28, 28, 1]);
        m.add(Conv2D::new(32, &[4]).activation(Activation::Relu));
        m.add(MaxPooling2D::new());
        m.add(Flatten::new());
        m.add(Dense::new(10).activation(Activation::Softmax));
        m.compile(Optimizer::adam(0.01), "sparse_categorical_crossentropy", &[]).unwrap();
        let h = m.fit(&x, &y, Fit::new().epochs(2).batch_size(16).verbose(0)).unwrap();
        (h["loss"].to_vec(), m.get_weights().iter().map(|w| w.to_vec_f32()).collect::<Vec<_>>())
    };
    assert_eq!(run(), run());
}

#[test]
fn early_stopping_stops_and_restores_best_weights() {
    let (x, y) = blobs(200, 3);
    let mut m = model(3);
    // A learning rate of 0 never improves the loss: patience 1 stops after epoch index 1.
    m.compile(Optimizer::sgd(0.0), "binary_crossentropy", &[]).unwrap();
    let mut es = EarlyStopping::new("loss").patience(1).restore_best_weights(true);
    let h = m.fit(&x, &y, Fit::new().epochs(10).verbose(0).shuffle(false).callback(&mut es)).unwrap();
    assert!(h.epoch.len() < 10, "ran {} epochs", h.epoch.len());
    assert_eq!(es.stopped_epoch, Some(h.epoch.len() - 1));
}

#[test]
fn reduce_lr_on_plateau_lowers_the_rate() {
    let (x, y) = blobs(100, 4);
    let mut m = model(4);
    // A tiny rate never improves the loss by min_delta, so every epoch past patience halves it.
    m.compile(Optimizer::sgd(1e-12), "binary_crossentropy", &[]).unwrap();
    let mut r = ReduceLrOnPlateau::new("loss").patience(1).factor(0.5).min_delta(1.0);
    let mut seen = vec![];
    let mut rec = OnEpochEnd(|_, _, c: &mut Control| seen.push(c.learning_rate()));
    m.fit(&x, &y, Fit::new().epochs(4).verbose(0).callback(&mut r).callback(&mut rec)).unwrap();
    assert_eq!(seen, vec![1e-12, 5e-13, 2.5e-13, 1.25e-13]);
}

#[test]
fn save_and_load_round_trip_predictions_and_optimizer_state() {
    let (x, y) = blobs(128, 5);
    let mut m = model(5);
    m.fit(&x, &y, Fit::new().epochs(2).verbose(0)).unwrap();
    let path = tmp("model.safetensors");
    m.save(&path).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    let (a, b) = (m.predict(&x, 32).unwrap(), loaded.predict(&x, 32).unwrap());
    assert_eq!(a.to_vec_f32(), b.to_vec_f32(), "predictions differ after load");
    assert_eq!(loaded.optimizer().unwrap().iterations(), m.optimizer().unwrap().iterations());
    // Same next step from the restored Adam state (dropout off via a fresh seed-independent batch).
    let xb = x.narrow(0, 0, 32);
    let yb = y.narrow(0, 0, 32);
    m.seed(9);
    loaded.seed(9);
    m.train_on_batch(&xb, &yb).unwrap();
    loaded.train_on_batch(&xb, &yb).unwrap();
    assert_eq!(
        m.get_weights().iter().map(|t| t.to_vec_f32()).collect::<Vec<_>>(),
        loaded.get_weights().iter().map(|t| t.to_vec_f32()).collect::<Vec<_>>()
    );
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "atomic write left a temporary file");
}

#[test]
fn load_rejects_corrupt_truncated_and_mismatched_files() {
    let (x, y) = blobs(64, 6);
    let mut m = model(6);
    m.fit(&x, &y, Fit::new().epochs(1).verbose(0)).unwrap();
    let path = tmp("good.safetensors");
    m.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let truncated = tmp("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = Sequential::load(&truncated).err().unwrap();
    assert!(e.message.contains("truncated.safetensors") && e.message.contains("corrupt or truncated"), "{}", e.message);

    let garbage = tmp("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a model").unwrap();
    assert!(Sequential::load(&garbage).is_err());
    assert!(Sequential::load(tmp("missing.safetensors")).err().unwrap().message.contains("cannot read"));

    // Weights of another architecture: an error, and the target model is left as it was.
    let mut other = Sequential::new();
    other.input(&[4]);
    other.add(Dense::new(3));
    other.build().unwrap();
    let before = other.get_weights().iter().map(|t| t.to_vec_f32()).collect::<Vec<_>>();
    let e = other.load_weights(&path).err().unwrap();
    assert!(
        e.message.contains("weight layers/dense/kernel is F32 [4, 8], the model expects F32 [4, 3]"),
        "{}",
        e.message
    );
    assert_eq!(before, other.get_weights().iter().map(|t| t.to_vec_f32()).collect::<Vec<_>>());
}

#[test]
fn bad_input_gives_clear_errors() {
    let mut m = model(7);
    let e = m.fit(&Tensor::zeros([10, 5]), &Tensor::zeros([10, 1]), Fit::new().verbose(0)).err().unwrap();
    assert!(e.message.contains("expected per-sample shape [4], got [5]"), "{}", e.message);
    let e = m.fit(&Tensor::zeros([10, 4]), &Tensor::zeros([9, 1]), Fit::new().verbose(0)).err().unwrap();
    assert_eq!(e.message, "fit: x has 10 samples but y has shape [9, 1]");
    let nan = Tensor::from_vec(vec![f32::NAN; 8], [2, 4]);
    assert!(m.predict(&nan, 2).err().unwrap().message.contains("NaN"));
    let e = m.fit(&Tensor::zeros([10, 4]), &Tensor::zeros([10, 1]), Fit::new().verbose(0).batch_size(0)).err().unwrap();
    assert_eq!(e.message, "fit: batch_size must be a positive integer, got 0");
    let mut fresh = Sequential::new();
    fresh.input(&[4]);
    fresh.add(Dense::new(1));
    assert_eq!(fresh.evaluate(&Tensor::zeros([1, 4]), &Tensor::zeros([1, 1]), 1).err().unwrap().kind, ErrorKind::State);
    let e = fresh.compile(Optimizer::sgd(0.1), "mean_sqared_error", &[]).err().unwrap();
    assert!(e.message.contains("did you mean \"mean_squared_error\"?"), "{}", e.message);
}

#[test]
fn summary_prints_the_keras_table() {
    let mut m = model(8);
    let s = m.summary().unwrap();
    assert!(s.contains("dense (Dense)") && s.contains("(None, 8)") && s.contains("dropout (Dropout)"), "{s}");
    assert!(s.contains("Total params: 49"), "{s}");
    assert!(s.contains("Non-trainable params: 0"), "{s}");
}

#[test]
fn class_weight_zero_removes_a_class_from_the_loss() {
    let (x, y) = blobs(200, 9);
    let mut m = model(9);
    let w = std::collections::HashMap::from([(1usize, 0.0)]);
    m.fit(&x, &y, Fit::new().epochs(20).verbose(0).class_weight(w)).unwrap();
    // With class 1 weightless, the model learns to predict class 0 everywhere.
    let p = m.predict(&x, 200).unwrap().to_vec_f32();
    assert!(
        p.iter().filter(|&&v| v < 0.5).count() > 180,
        "predicted {} of 200 as class 0",
        p.iter().filter(|&&v| v < 0.5).count()
    );
}

#[test]
fn terminate_on_nan_stops_training() {
    let (x, y) = blobs(64, 10);
    let mut m = model(10);
    m.compile(Optimizer::sgd(1e30), "mse", &[]).unwrap();
    let mut t = TerminateOnNaN::new();
    let h = m.fit(&x, &y.affine(1e20, 0.0), Fit::new().epochs(50).verbose(0).callback(&mut t)).unwrap();
    assert!(h.epoch.len() < 50);
    // Where it stopped: the epoch History reached, a batch of it, and a loss that is not finite.
    let (epoch, batch, loss) = t.stopped.expect("stopped");
    assert_eq!(epoch + 1, h.epoch.len());
    assert!(batch < 2 && !loss.is_finite(), "{batch} {loss}");
}

#[test]
fn model_checkpoint_saves_best_weights_atomically_and_csv_logger_writes_rows() {
    let (x, y) = blobs(128, 11);
    let mut m = model(11);
    let pattern = tmp("ckpt-{epoch}.safetensors").to_string_lossy().into_owned();
    let mut ck = ModelCheckpoint::new(pattern).monitor("loss").save_best_only(true);
    let csv = tmp("log.csv");
    let mut log = CsvLogger::new(&csv);
    m.fit(&x, &y, Fit::new().epochs(4).verbose(0).callback(&mut ck).callback(&mut log)).unwrap();
    assert!(!ck.saved.is_empty() && ck.saved.len() <= 4);
    // The last checkpoint is the whole model at its best epoch: it loads with no source code,
    // and its weights also load into a same-shaped model.
    let best = ck.saved.last().unwrap();
    let mut back = Model::load(best).unwrap();
    assert!(back.optimizer().unwrap().iterations() > 0);
    let mut fresh = model(12);
    fresh.load_weights(best).unwrap();
    assert_eq!(back.predict(&x, 64).unwrap().to_vec_f32(), fresh.predict(&x, 64).unwrap().to_vec_f32());
    // Weights only: loadable into a model, not a model file by itself.
    let wpath = tmp("weights_only.safetensors");
    let mut wck = ModelCheckpoint::new(wpath.to_str().unwrap()).save_weights_only(true);
    m.fit(&x, &y, Fit::new().epochs(1).verbose(0).callback(&mut wck)).unwrap();
    fresh.load_weights(&wpath).unwrap();
    assert!(Model::load(&wpath).err().unwrap().message.contains("not a sinew model file"));
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "epoch,loss,accuracy");
    assert_eq!(rows.len(), 5, "{text}");
    assert!(rows[4].starts_with("3,"));
}

#[test]
fn model_checkpoint_write_failure_stops_training_instead_of_panicking() {
    let (x, y) = blobs(64, 12);
    let mut m = model(12);
    let mut ck = ModelCheckpoint::new("/nonexistent-dir/sub/ckpt.safetensors");
    let h = m.fit(&x, &y, Fit::new().epochs(5).verbose(0).callback(&mut ck)).unwrap();
    assert_eq!(h.epoch.len(), 1, "training continued without its checkpoint");
    assert!(ck.saved.is_empty());
}

#[test]
fn regularizers_join_the_loss_and_constraints_hold_after_each_step() {
    use sinew_nn::{Constraint, Regularizer};
    let (x, y) = blobs(64, 13);
    let build = |reg: bool| {
        let mut m = Sequential::new();
        m.seed(13).input(&[4]);
        let mut d = Dense::new(3)
            .activation(Activation::Relu)
            .kernel_constraint(Constraint::MaxNorm { max_value: 0.5, axis: 0 });
        if reg {
            d = d.kernel_regularizer(Regularizer::l2(0.1));
        }
        m.add(d);
        m.add(Dense::new(1).activation(Activation::Sigmoid));
        m.compile(Optimizer::sgd(0.5), "binary_crossentropy", &[]).unwrap();
        m
    };
    let (mut plain, mut reg) = (build(false), build(true));
    let w = plain.get_weights()[0].to_vec_f32();
    let penalty: f32 = 0.1 * w.iter().map(|v| v * v).sum::<f32>();
    let (l0, l1) = (
        plain.evaluate(&x, &y, 64).unwrap().get("loss").unwrap(),
        reg.evaluate(&x, &y, 64).unwrap().get("loss").unwrap(),
    );
    assert!((l1 - l0 - penalty as f64).abs() < 1e-5, "penalty {penalty} vs loss difference {}", l1 - l0);
    reg.fit(&x, &y, Fit::new().epochs(3).verbose(0)).unwrap();
    let k = reg.get_weights()[0].to_vec_f32(); // [4, 3], one norm per column
    for c in 0..3 {
        let n: f32 = (0..4).map(|r| k[r * 3 + c] * k[r * 3 + c]).sum::<f32>().sqrt();
        assert!(n <= 0.5 + 1e-5, "column {c} norm {n} exceeds the MaxNorm bound");
    }
    // Both survive a save/load round trip in the architecture.
    let path = tmp("reg.safetensors");
    reg.save(&path).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    let (a, b) = (
        reg.evaluate(&x, &y, 64).unwrap().get("loss").unwrap(),
        loaded.evaluate(&x, &y, 64).unwrap().get("loss").unwrap(),
    );
    assert_eq!(a, b);
}

/// Records the weights at the start of each epoch.
struct WeightsAtEpochBegin(Vec<(usize, Vec<Vec<f32>>)>);

impl Callback for WeightsAtEpochBegin {
    fn on_epoch_begin(&mut self, epoch: usize, c: &mut Control) {
        self.0.push((epoch, c.get_weights().iter().map(|t| t.to_vec_f32()).collect()));
    }
}

#[test]
fn backup_and_restore_resumes_a_killed_fit_where_it_stopped() {
    let (x, y) = blobs(96, 14);
    let dir = tmp("backup").parent().unwrap().join("backup-dir");
    let _ = std::fs::remove_dir_all(&dir);
    let mut m = model(14);
    let mut backup = BackupAndRestore::new(&dir);
    let mut kill = OnEpochEnd(|e, _, _: &mut Control| {
        if e == 1 {
            panic!("simulated kill after epoch 2");
        }
    });
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.fit(&x, &y, Fit::new().epochs(5).verbose(0).callback(&mut backup).callback(&mut kill))
    }));
    assert!(killed.is_err());
    assert!(dir.join("backup.safetensors").exists(), "the backup of epoch 2 survives the kill");
    let at_kill: Vec<Vec<f32>> = m.get_weights().iter().map(|t| t.to_vec_f32()).collect();

    let mut fresh = model(99);
    let mut backup = BackupAndRestore::new(&dir);
    let mut seen = WeightsAtEpochBegin(vec![]);
    let h = fresh.fit(&x, &y, Fit::new().epochs(5).verbose(0).callback(&mut backup).callback(&mut seen)).unwrap();
    assert_eq!(backup.resumed_at, Some(2));
    assert_eq!(h.epoch, vec![2, 3, 4]);
    assert_eq!(seen.0[0].0, 2);
    assert_eq!(seen.0[0].1, at_kill, "training resumed from the weights saved at the kill");
    assert!(!dir.join("backup.safetensors").exists(), "a finished fit deletes its backup");

    // The backup holds the model's generator too, so the resumed epochs shuffle and drop out
    // as the uninterrupted run's did: the same final weights, bit for bit.
    let mut whole = model(14);
    let h_whole = whole.fit(&x, &y, Fit::new().epochs(5).verbose(0)).unwrap();
    let bits = |m: &Sequential| -> Vec<Vec<u32>> {
        m.get_weights().iter().map(|t| t.to_vec_f32().iter().map(|v| v.to_bits()).collect()).collect()
    };
    assert_eq!(bits(&fresh), bits(&whole));
    assert_eq!(h["loss"], h_whole["loss"][2..]);
    // The epochs before the kill come back from the backup, so the whole run's curves can be drawn.
    let whole_run = backup.restored_history.then(&h);
    assert_eq!(whole_run.epoch, vec![0, 1, 2, 3, 4]);
    assert_eq!(whole_run["loss"], h_whole["loss"]);
    assert_eq!(whole_run["accuracy"], h_whole["accuracy"]);
}

#[test]
fn custom_train_step_can_reproduce_the_built_in_step() {
    let (x, y) = blobs(128, 15);
    let fit = |custom: bool| {
        let mut m = Sequential::new();
        m.seed(15).input(&[4]);
        m.add(Dense::new(6).activation(Activation::Tanh));
        m.add(Dense::new(1).activation(Activation::Sigmoid));
        m.compile(Optimizer::adam(0.01), "binary_crossentropy", &[]).unwrap();
        let mut opts = Fit::new().epochs(3).verbose(0);
        if custom {
            opts = opts.train_step(|m: &mut Sequential, xb: &Tensor, yb: &Tensor| {
                let pred = m.call(xb, true)?;
                let loss = m.compute_loss(yb, &pred)?;
                m.apply_gradients(&loss.backward())?;
                Ok(loss.item())
            });
        }
        m.fit(&x, &y, opts).unwrap()["loss"].to_vec()
    };
    let (builtin, custom) = (fit(false), fit(true));
    assert_eq!(builtin.len(), 3);
    // The built-in step computes the same loss from logits; values agree to float rounding.
    for (a, b) in builtin.iter().zip(&custom) {
        assert!((a - b).abs() < 1e-4, "{builtin:?} vs {custom:?}");
    }
}

/// Issue 18, numerics: a regression that diverges with plain SGD at this rate (its loss goes
/// to infinity or NaN) stays finite with each of Keras' clipping options.
#[test]
fn gradient_clipping_keeps_a_diverging_model_finite() {
    let mut rng = Rng::seed(20);
    let x = Tensor::rand_normal([64, 4], 0.0, 10.0, &mut rng);
    let y = x.sum(&[1], true).mul_scalar(3.0);
    let fit = |opt: Optimizer| {
        let mut m = Sequential::new();
        m.seed(20).input(&[4]);
        m.add(Dense::new(1));
        m.compile(opt, "mse", &[]).unwrap();
        let h = m.fit(&x, &y, Fit::new().epochs(20).batch_size(16).verbose(0)).unwrap();
        *h.get("loss").unwrap().last().unwrap()
    };
    let plain = fit(Optimizer::sgd(0.1));
    assert!(!plain.is_finite() || plain > 1e30, "plain SGD did not diverge: final loss {plain}");
    for (name, opt) in [
        ("clipnorm", Optimizer::sgd(0.1).clipnorm(1.0)),
        ("clipvalue", Optimizer::sgd(0.1).clipvalue(0.5)),
        ("global_clipnorm", Optimizer::sgd(0.1).global_clipnorm(1.0)),
    ] {
        let loss = fit(opt);
        assert!(loss.is_finite() && loss < 1e6, "{name}: final loss {loss}");
    }
}
