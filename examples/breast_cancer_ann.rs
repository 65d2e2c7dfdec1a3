//! The notes' binary-classification ANN: Dense 78-39-19-1 with Dropout 0.2, Adam, binary
//! cross-entropy, EarlyStopping on val_loss with patience 2, on the scikit-learn breast-cancer
//! data scaled to [0, 1] (a min-max scaler fitted on the training split). Early stopping watches a
//! validation split taken from the training data, so the test split is touched only by the final
//! evaluation. Over model seeds 1-5 it reaches 93.0-97.2% test accuracy (mean 95.4%, measured 2026-12-07), each run in
//! well under a second; the accuracy check uses that mean, because early stopping with patience 2
//! makes single runs noisy.
//!
//! Data: `../shared/data/sklearn-small/breast_cancer.csv` (or `$SINEW_DATA_DIR/sklearn-small`).
//! Run: `cargo run --release --example breast_cancer_ann`

use sinew::data::{find_dataset, load_sklearn_csv};
use sinew::prelude::*;

const TEST_FRACTION: f64 = 0.25;
/// Early stopping watches the last fifth of the training split, so the test split stays unseen
/// until the final evaluation.
const VALIDATION_SPLIT: f64 = 0.2;
/// Seeds the train/test split; model seeds vary separately.
const SPLIT_SEED: u64 = 101;
const MODEL_SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// Scales each column into [0, 1] with the training split's min and max (sklearn MinMaxScaler).
fn min_max(train: &Tensor, test: &Tensor) -> (Tensor, Tensor) {
    let lo = train.min(&[0], true);
    let range = train.max(&[0], true).sub(&lo).clamp(1e-12, f64::MAX);
    (train.sub(&lo).div(&range), test.sub(&lo).div(&range))
}

/// Trains with model seed `seed` and returns the test accuracy.
fn run(seed: u64, verbose: u8) -> Result<f64, Box<dyn std::error::Error>> {
    let (x, y) = load_sklearn_csv(&find_dataset("sklearn-small")?.join("breast_cancer.csv"))?;
    let n = x.dims()[0];
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::seed(SPLIT_SEED).shuffle(&mut idx);
    let n_test = (n as f64 * TEST_FRACTION).round() as usize;
    let (test_idx, train_idx) = idx.split_at(n_test);
    let (x_train, x_test) = min_max(&x.index_select(0, train_idx), &x.index_select(0, test_idx));
    let y_train = y.index_select(0, train_idx).reshape([train_idx.len(), 1]);
    let y_test = y.index_select(0, test_idx).reshape([n_test, 1]);

    let mut model = Sequential::new();
    model.seed(seed).input(&[x.dims()[1]]);
    model.add(Dense::new(78).activation(Activation::Relu));
    model.add(Dropout::new(0.2));
    model.add(Dense::new(39).activation(Activation::Relu));
    model.add(Dropout::new(0.2));
    model.add(Dense::new(19).activation(Activation::Relu));
    model.add(Dropout::new(0.2));
    model.add(Dense::new(1).activation(Activation::Sigmoid));
    model.compile(Optimizer::adam(0.001), "binary_crossentropy", &["accuracy"])?;
    let mut early = EarlyStopping::new("val_loss").patience(2);
    let history = model.fit(
        &x_train,
        &y_train,
        Fit::new().epochs(600).batch_size(32).verbose(verbose).validation_split(VALIDATION_SPLIT).callback(&mut early),
    )?;
    let acc = model.evaluate(&x_test, &y_test, 256)?.get("accuracy").unwrap();
    println!("stopped after {} epochs; test accuracy {acc:.4}", history.epoch.len());
    Ok(acc)
}

/// Mean test accuracy over [`MODEL_SEEDS`].
fn mean_accuracy(verbose: u8) -> Result<f64, Box<dyn std::error::Error>> {
    let mut sum = 0.0;
    for s in MODEL_SEEDS {
        sum += run(s, verbose)?;
    }
    Ok(sum / MODEL_SEEDS.len() as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let acc = mean_accuracy(2)?;
    println!("mean test accuracy over seeds {MODEL_SEEDS:?}: {acc:.4}");
    if acc < 0.95 {
        return Err(format!("test accuracy {acc:.4} is below the expected 0.95").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn breast_cancer_ann_reaches_95_percent() {
        let acc = super::mean_accuracy(0).expect("breast_cancer.csv must be present in ../shared/data/sklearn-small");
        assert!(acc >= 0.95, "test accuracy {acc:.4} < 0.95");
    }
}
