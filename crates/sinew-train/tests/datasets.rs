//! `fit`, `evaluate` and `predict` on a `sinew_data::Dataset` pipeline: identical to tensor input
//! when the batches are the same, plus validation from a dataset, `steps_per_epoch` over a
//! repeated dataset, and the errors a pipeline can raise.

use sinew_data::{Dataset, Element, Error as DataError};
use sinew_nn::{Activation, Dense};
use sinew_optim::Optimizer;
use sinew_tensor::Tensor;
use sinew_train::*;

mod common;
use common::blobs;

fn mlp() -> Sequential {
    let mut m = Sequential::new();
    m.seed(3).input(&[4]);
    m.add(Dense::new(6).activation(Activation::Tanh));
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(Optimizer::adam(0.01), "binary_crossentropy", &["accuracy"]).unwrap();
    m
}

fn weights(m: &Model) -> Vec<Vec<f32>> {
    m.get_weights().iter().map(|t| t.to_vec_f32()).collect()
}

#[test]
fn fit_dataset_matches_fit_on_the_same_batches() {
    let (x, y) = blobs(40, 1);
    let (vx, vy) = blobs(16, 2);
    let mut a = mlp();
    let ha =
        a.fit(&x, &y, Fit::new().epochs(3).batch_size(8).shuffle(false).verbose(0).validation_data(&vx, &vy)).unwrap();
    let ds = Dataset::from_tensor_slices(&[x.clone()], &[y.clone()]).unwrap().batch(8, false);
    let val = Dataset::from_tensor_slices(&[vx.clone()], &[vy.clone()]).unwrap().batch(5, false);
    let mut b = mlp();
    let hb = b.fit_dataset(&ds, Fit::new().epochs(3).verbose(0).validation_dataset(&val)).unwrap();
    assert_eq!(weights(&a), weights(&b));
    assert_eq!(ha.get("loss"), hb.get("loss"));
    // Validation in batches of 5 against batches of 8: the same values up to rounding.
    for (p, q) in ha.get("val_loss").unwrap().iter().zip(hb.get("val_loss").unwrap()) {
        assert!((p - q).abs() < 1e-6, "{p} vs {q}");
    }
    let logs = b.evaluate_dataset(&val).unwrap();
    let want = b.evaluate(&vx, &vy, 16).unwrap();
    assert!((logs.get("loss").unwrap() - want.get("loss").unwrap()).abs() < 1e-6);
    assert_eq!(logs.get("accuracy"), want.get("accuracy"));
    let p = b.predict_dataset(&val).unwrap();
    assert_eq!(p.to_vec_f32(), b.predict(&vx, 16).unwrap().to_vec_f32());
}

#[test]
fn fit_dataset_steps_per_epoch_continues_a_repeated_pass() {
    let (x, y) = blobs(24, 4);
    let ds =
        Dataset::from_tensor_slices(&[x.clone()], &[y.clone()]).unwrap().shuffle(64, 9).batch(8, true).repeat(None);
    let mut m = mlp();
    let e = m.fit_dataset(&ds, Fit::new().epochs(2).verbose(0)).unwrap_err();
    assert!(e.message.contains("infinite"), "{}", e.message);
    let h = m.fit_dataset(&ds, Fit::new().epochs(4).steps_per_epoch(2).verbose(0)).unwrap();
    assert_eq!(h.get("loss").unwrap().len(), 4);
    assert!(m.evaluate_dataset(&ds).unwrap_err().message.contains("infinite"));
    // A finite dataset shorter than steps_per_epoch starts a new pass.
    let short = Dataset::from_tensor_slices(&[x], &[y]).unwrap().batch(8, false);
    let h = m.fit_dataset(&short, Fit::new().epochs(2).steps_per_epoch(5).verbose(0)).unwrap();
    assert_eq!(h.get("loss").unwrap().len(), 2);
}

#[test]
fn fit_dataset_reports_pipeline_and_shape_errors() {
    let mut m = mlp();
    let bad = Dataset::from_generator(|| {
        vec![
            Ok(Element { x: vec![Tensor::zeros([2, 4])], y: vec![Tensor::zeros([2, 1])] }),
            Err(DataError::invalid("line 7 is corrupt")),
        ]
        .into_iter()
    });
    let e = m.fit_dataset(&bad, Fit::new().verbose(0)).unwrap_err();
    assert_eq!(e.message, "line 7 is corrupt");
    assert_eq!(e.kind, ErrorKind::Data);
    let wide = Dataset::from_tensor_slices(&[Tensor::zeros([4, 5])], &[Tensor::zeros([4, 1])]).unwrap().batch(2, false);
    let e = m.fit_dataset(&wide, Fit::new().verbose(0)).unwrap_err();
    assert!(e.message.starts_with("fit (dataset)"), "{}", e.message);
    let no_y = Dataset::from_tensor_slices(&[Tensor::zeros([4, 4])], &[]).unwrap().batch(2, false);
    assert!(m.evaluate_dataset(&no_y).is_err());
    assert_eq!(m.predict_dataset(&no_y).unwrap().dims(), [4, 1]);
    let (x, y) = blobs(8, 0);
    let ds = Dataset::from_tensor_slices(&[x], &[y]).unwrap().batch(4, false);
    let e = m.fit_dataset(&ds, Fit::new().validation_split(0.2)).unwrap_err();
    assert!(e.message.contains("validation_split"), "{}", e.message);
}

/// Issue 14: a Sequential model without an input shape builds from a pipeline's first batch,
/// and peeking at it does not shift the shuffles: training matches the model given the shape.
#[test]
fn fit_dataset_builds_a_model_without_an_input_shape() {
    let (x, y) = blobs(48, 4);
    let ds = || Dataset::from_tensor_slices(&[x.clone()], &[y.clone()]).unwrap().shuffle(48, 5).batch(8, false);
    let mut given = mlp();
    given.fit_dataset(&ds(), Fit::new().epochs(3).verbose(0)).unwrap();
    let mut deferred = Sequential::new();
    deferred.seed(3);
    deferred.add(Dense::new(6).activation(Activation::Tanh));
    deferred.add(Dense::new(1).activation(Activation::Sigmoid));
    deferred.compile(Optimizer::adam(0.01), "binary_crossentropy", &["accuracy"]).unwrap();
    deferred.fit_dataset(&ds(), Fit::new().epochs(3).verbose(0)).unwrap();
    assert_eq!(deferred.input_shape(), Some(&[4][..]));
    assert_eq!(weights(&deferred), weights(&given));
}
