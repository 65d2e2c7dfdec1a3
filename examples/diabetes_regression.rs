//! Regression on scikit-learn's diabetes data (Efron et al., 442 patients, 10 baseline
//! measurements, a disease-progression score one year later): the Keras regression tutorial's
//! shape, Dense 64-64-1 with mean squared error, on standardised features, with EarlyStopping on
//! a validation split. It reports MAE, MSE, RMSE, R² and explained variance on a 20% test split.
//!
//! Over model seeds 1-3 the test R² is 0.35-0.45 (mean 0.398, measured 2026-12-07) and the RMSE
//! 56.3-61.4, in well under a second. Ordinary least squares gets 0.42-0.44 on scikit-learn's
//! 80/20 splits with random_state 1-3, so this small data leaves little for a network to add; the
//! check asserts a mean R² of at least 0.38.
//!
//! Data: `../shared/data/sklearn-small/diabetes_*.csv.gz` (or `$SINEW_DATA_DIR/sklearn-small`).
//! Run: `cargo run --release --example diabetes_regression`

use sinew::data::{
    find_dataset, read_csv, regression_report, to_tensor, train_test_split, CsvOptions, RegressionReport,
    StandardScaler,
};
use sinew::prelude::*;

const FEATURES: [&str; 10] = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];
const SPLIT_SEED: u64 = 5;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn run(seed: u64, verbose: u8) -> Res<RegressionReport> {
    let dir = find_dataset("sklearn-small")?;
    // Space-separated, no header; the target file holds one value per line.
    let opts = CsvOptions::new().has_header(false).separator(b' ').column_names(&FEATURES).numeric(&FEATURES);
    let x = to_tensor(&read_csv(dir.join("diabetes_data_raw.csv.gz"), &opts)?, &FEATURES)?;
    let target = CsvOptions::new().has_header(false).column_names(&["progression"]).numeric(&["progression"]);
    let y = to_tensor(&read_csv(dir.join("diabetes_target.csv.gz"), &target)?, &["progression"])?;

    let split = train_test_split(x.dims()[0], 0.2, true, SPLIT_SEED, None)?;
    let scaler = StandardScaler::fit(&x.index_select(0, &split.train))?;
    let x_train = scaler.transform(&x.index_select(0, &split.train))?;
    let x_test = scaler.transform(&x.index_select(0, &split.test))?;
    let (y_train, y_test) = (y.index_select(0, &split.train), y.index_select(0, &split.test));

    let mut model = Sequential::new();
    model.seed(seed).input(&[FEATURES.len()]);
    model.add(Dense::new(64).activation(Activation::Relu));
    model.add(Dense::new(64).activation(Activation::Relu));
    model.add(Dense::new(1));
    model.compile(Optimizer::adam(0.01), "mse", &["mae"])?;
    let mut early = EarlyStopping::new("val_loss").patience(20);
    early.restore_best_weights = true;
    let fit = Fit::new().epochs(500).batch_size(32).validation_split(0.2).verbose(verbose).callback(&mut early);
    model.fit(&x_train, &y_train, fit)?;
    let pred: Vec<f64> = model.predict(&x_test, 256)?.to_vec_f32().iter().map(|&v| v as f64).collect();
    let truth: Vec<f64> = y_test.to_vec_f32().iter().map(|&v| v as f64).collect();
    Ok(regression_report(&truth, &pred)?)
}

fn mean_r2(verbose: u8) -> Res<f64> {
    let mut sum = 0.0;
    for seed in [1, 2, 3] {
        let report = run(seed, verbose)?;
        println!("model seed {seed}:\n{report}");
        sum += report.r2;
    }
    Ok(sum / 3.0)
}

fn main() -> Res<()> {
    let r2 = mean_r2(0)?;
    println!("mean test R² over seeds 1-3: {r2:.3}");
    if r2 < 0.38 {
        return Err(format!("R² {r2:.3} is below the expected 0.38").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn diabetes_regression_explains_38_percent() {
        let r2 = super::mean_r2(0).expect("the diabetes CSVs must be present in ../shared/data/sklearn-small");
        assert!(r2 >= 0.38, "test R² {r2:.3} < 0.38");
    }
}
