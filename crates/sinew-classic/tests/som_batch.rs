//! The batch SOM on standardised iris: it reaches the online map's quantisation error, and its
//! map does not depend on the order of the samples.

use sinew_classic::{Som, SomOptions, Topology};
use sinew_data::{find_dataset, load_sklearn_csv, StandardScaler};
use sinew_tensor::Tensor;

fn iris() -> Tensor {
    let (x, _) = load_sklearn_csv(&find_dataset("sklearn-small").unwrap().join("iris.csv")).unwrap();
    StandardScaler::fit(&x).unwrap().transform(&x).unwrap()
}

fn map(seed: u64) -> Som {
    let opts = SomOptions::new().sigma(1.5).topology(Topology::Hexagonal).seed(seed);
    Som::new(7, 7, 4, opts).unwrap()
}

#[test]
fn batch_training_matches_online_quality_in_any_order() {
    let x = iris();
    let mut online = map(1);
    online.random_weights_init(&x).unwrap();
    let start = online.weights();
    online.train(&x, 2000, true).unwrap();

    let mut batch = map(1);
    batch.set_weights(&start).unwrap();
    batch.train_batch(&x, 20).unwrap();
    let (qe_online, qe_batch) = (online.quantization_error(&x).unwrap(), batch.quantization_error(&x).unwrap());
    eprintln!("quantisation error: online {qe_online:.4}, batch {qe_batch:.4}");
    assert!(qe_batch <= 1.1 * qe_online, "batch {qe_batch:.4} against online {qe_online:.4}");

    // The same samples reversed give the same map (up to the order of floating-point sums).
    let v = x.to_vec_f64();
    let reversed: Vec<f64> = v.chunks(4).rev().flatten().copied().collect();
    let mut again = map(1);
    again.set_weights(&start).unwrap();
    again.train_batch(&Tensor::from_vec_f64(reversed, [150, 4]), 20).unwrap();
    for (a, b) in batch.weights().to_vec_f64().iter().zip(again.weights().to_vec_f64()) {
        assert!((a - b).abs() < 1e-9, "{a} against {b}");
    }
    let err = batch.train_batch(&x, 0).unwrap_err().to_string();
    assert!(err.contains("epochs must be at least 1"), "{err}");
}
