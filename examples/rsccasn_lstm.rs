//! The notes' LSTM forecast of US clothing-store retail sales (FRED RSCCASN, monthly, millions of
//! USD), end to end: the last 18 months are the test set, a `MinMaxScaler` is fitted on the
//! training part, windows of 12 months predict the next one (Keras' `TimeseriesGenerator`),
//! `LSTM(100, activation="relu") -> Dense(1)`, Adam, MSE, batch 1, `EarlyStopping(patience=10)`
//! on the windows of the test months (as the notes do), then the recursive forecast of all 18
//! test months from the last training window (`Model::forecast`: predict, append, slide),
//! inverse-transformed and scored by RMSE against the fair baseline, the seasonal-naive forecast
//! (the last training year repeated).
//!
//! The variant a forecaster would choose: the same model on year-over-year differences
//! (`y_t - y_{t-12}`, seasonal differencing, so the network models the change against last year
//! rather than the seasonal pattern itself), integrated back onto the last year after the
//! forecast, with Adam's step at 3e-4. On a validation period, the 18 months ending October
//! 2019 (`-- 5 20 42` cuts the last 42 months, so COVID's collapse is in neither part), that step
//! edges out the default 1e-3 (666 against 672); on the test period it does much better (2,063
//! against 3,570). BENCHMARKS.md tells how the setting was searched.
//!
//! Figures: see the table in BENCHMARKS.md ("Recurrent networks"), produced by
//! `cargo run --release --example rsccasn_lstm -- 5` (5 seeds). The shortened run in the test
//! (5 epochs, one seed) asserts a forecast below the top of Keras 3's range with this recipe
//! (5,022; its mean over 5 seeds is 4,161) and a baseline of 4,319.
//!
//! Data: `../shared/data/rsccasn/RSCCASN.csv` (or `$SINEW_DATA_DIR/rsccasn`).
//! Run: `cargo run --release --example rsccasn_lstm [SEEDS] [EPOCHS] [MONTHS CUT FROM THE END]`

use sinew::data::{find_dataset, read_time_series, regression_report, timeseries_windows, MinMaxScaler, Windows};
use sinew::prelude::*;

/// Months held out at the end of the series.
const TEST: usize = 18;
/// Months each window reads.
const WINDOW: usize = 12;
const EPOCHS: usize = 20;

struct Outcome {
    rmse: f64,
    baseline: f64,
    epochs: usize,
}

fn rmse(pred: &[f32], actual: &[f32]) -> Result<f64, Box<dyn std::error::Error>> {
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    Ok(regression_report(&f(actual), &f(pred))?.rmse)
}

/// Windows of `WINDOW` scaled values and the value after each (Keras' `TimeseriesGenerator`).
fn windows(s: &Tensor) -> Result<(Tensor, Tensor), Box<dyn std::error::Error>> {
    let m = s.dims()[0];
    // Windows start at 0..m - WINDOW; the last value is only ever a target.
    let data = s.narrow(0, 0, m - 1);
    let (x, y) = timeseries_windows(&data, Some(&s.narrow(0, WINDOW, m - WINDOW)), Windows::new(WINDOW))?;
    Ok((x, y.expect("targets were given")))
}

/// Year-over-year differences `y_t - y_{t-12}` of `v`, for `t` from `from`.
fn seasonal_diff(v: &[f32], from: usize) -> Vec<f32> {
    (from.max(12)..v.len()).map(|t| v[t] - v[t - 12]).collect()
}

/// The notes' recipe (`differenced = false`), or the variant: the same model on year-over-year
/// differences, integrated back onto the last year (actual, then forecast) after the forecast.
fn run(
    seed: u64,
    epochs: usize,
    differenced: bool,
    drop: usize,
    verbose: u8,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let series = read_time_series(find_dataset("rsccasn")?.join("RSCCASN.csv"), &[])?.values;
    // `drop` months cut from the end move the test period earlier (a validation period).
    let series = series.narrow(0, 0, series.dims()[0] - drop);
    let n = series.dims()[0];
    let split = n - TEST;
    let values = series.to_vec_f32();
    let (train, test) = if differenced {
        let d = seasonal_diff(&values, 0);
        let cut = d.len() - TEST;
        (Tensor::from_vec(d[..cut].to_vec(), [cut, 1]), Tensor::from_vec(d[cut..].to_vec(), [TEST, 1]))
    } else {
        (series.narrow(0, 0, split), series.narrow(0, split, TEST))
    };
    let scaler = MinMaxScaler::fit(&train)?;
    let (s_train, s_test) = (scaler.transform(&train)?, scaler.transform(&test)?);
    let (x, y) = windows(&s_train)?;
    let (x_val, y_val) = windows(&s_test)?;

    let mut model = Sequential::new();
    model.seed(seed);
    model.input(&[WINDOW, 1]);
    model.add(LSTM::new(100).activation(Activation::Relu)).add(Dense::new(1));
    // The variant takes smaller steps (3e-4): chosen on the validation period (see the header).
    model.compile(Optimizer::adam(if differenced { 3e-4 } else { 1e-3 }), "mse", &[])?;
    let mut stop = EarlyStopping::new("val_loss").patience(10);
    let opts =
        Fit::new().batch_size(1).epochs(epochs).validation_data(&x_val, &y_val).callback(&mut stop).verbose(verbose);
    let history = model.fit(&x, &y, opts)?;

    let mut forecast = scaler.inverse_transform(&model.forecast(&s_train, TEST)?.reshape([TEST, 1]))?.to_vec_f32();
    if differenced {
        // y_t = y_{t-12} + d_t, with y_{t-12} forecast itself beyond the first year.
        let mut y = values[..split].to_vec();
        for d in &forecast {
            y.push(y[y.len() - 12] + d);
        }
        forecast = y[split..].to_vec();
    }
    let actual = values[split..].to_vec();
    let naive: Vec<f32> = (0..TEST).map(|i| values[split - 12 + i % 12]).collect();
    Ok(Outcome { rmse: rmse(&forecast, &actual)?, baseline: rmse(&naive, &actual)?, epochs: history.epoch.len() })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let epochs: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(EPOCHS);
    let drop: usize = std::env::args().nth(3).map(|s| s.parse()).transpose()?.unwrap_or(0);
    for (differenced, what) in [(false, "the notes' recipe"), (true, "seasonal differencing")] {
        let mut scores = Vec::new();
        for seed in 0..seeds {
            let t = std::time::Instant::now();
            let o = run(seed, epochs, differenced, drop, 0)?;
            println!(
                "{what}, seed {seed}: forecast RMSE {:.0}, seasonal-naive baseline {:.0}, {} epochs, {:.1} s",
                o.rmse,
                o.baseline,
                o.epochs,
                t.elapsed().as_secs_f64()
            );
            scores.push(o.rmse);
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let (lo, hi) = scores.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        println!("{what}: forecast RMSE over {seeds} seed(s): mean {mean:.0}, range {lo:.0}-{hi:.0}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A shortened run (5 epochs) on the real series: the 18-month recursive forecast lands
    /// below the top of Keras 3's range with this recipe, and the baseline is the one the
    /// issue states.
    #[test]
    fn rsccasn_short_run_forecasts_within_keras_range() {
        let o = super::run(0, 5, false, 0, 0)
            .expect("RSCCASN must be present in ../shared/data/rsccasn (or $SINEW_DATA_DIR)");
        assert!((o.baseline - 4319.0).abs() < 1.0, "seasonal-naive baseline {:.1}, expected 4,319", o.baseline);
        assert!(o.rmse.is_finite() && o.rmse < 5022.0, "forecast RMSE {:.0} above Keras' worst seed (5,022)", o.rmse);
    }

    /// The variant, in full (5 seeds of 20 epochs, about a second each): at least 20% below
    /// the seasonal-naive baseline on average (RMSE 3,450), the bar.
    #[test]
    fn seasonal_differencing_beats_the_baseline_by_a_fifth() {
        let runs: Vec<f64> = (0..5).map(|seed| super::run(seed, 20, true, 0, 0).unwrap().rmse).collect();
        let mean = runs.iter().sum::<f64>() / 5.0;
        assert!(mean <= 3450.0, "mean forecast RMSE {mean:.0} over seeds 0-4 ({runs:?}); the baseline is 4,319");
    }
}
