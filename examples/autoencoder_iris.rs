//! The notes' first autoencoder: dimensionality reduction 3 -> 2 -> 3, written line by line as
//! the notes write it in Keras:
//!
//! ```python
//! encoder = keras.models.Sequential([keras.layers.Dense(2, input_shape=[3])])
//! decoder = keras.models.Sequential([keras.layers.Dense(3, input_shape=[2])])
//! autoencoder = keras.models.Sequential([encoder, decoder])
//! autoencoder.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=1.5))
//! history = autoencoder.fit(X_train, X_train, epochs=20)
//! codings = encoder.predict(X_train)
//! ```
//!
//! on a real 3-feature data set: iris' sepal length, sepal width and petal length, min-max
//! scaled on the whole set and centred. A linear autoencoder trained on the squared error
//! learns the plane PCA finds, so its reconstruction error is set beside PCA's with two
//! components on the same data. The 2-D codes from the encoder alone are plotted by species.
//!
//! Two departures from the notes, both measured: the data is centred (the notes' own 3-D data
//! is; on uncentred [0, 1] data SGD at 1.5 diverged for 2 of 3 seeds in Keras 3 as well,
//! `scripts/keras_autoencoder_iris.py`), and it trains 100 epochs instead of 20 (after 20, 4 of
//! 10 seeds were still 4-8x PCA's error). Over seeds 1-10, 8 converge to 1.01-1.06x PCA's error
//! (seed 1: 0.00158 against 0.00150, measured 2026-12-07) and 2 diverge: a learning rate of 1.5 is at the edge of stability here. Keras, on the same
//! centred data for 20 epochs, converged for all 3 seeds the script tries (final MSE 0.0019 to
//! 0.0054, PCA's is 0.0015); its initial weights are other draws from the same Glorot law.
//!
//! Data: `../shared/data/sklearn-small/iris.csv`. Run: `cargo run --release --example autoencoder_iris`
//! (writes `codes.png` under `$TMPDIR/sinew-examples/autoencoder_iris`).

use sinew::data::{find_dataset, load_sklearn_csv};
use sinew::prelude::*;
use sinew::report::{save_plot, Plot, Series};

const EPOCHS: usize = 100;
type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Iris' first three measurements, each scaled to [0, 1] over the whole set and then centred
/// (the notes' own 3-D data is centred; uncentred, SGD at 1.5 diverges, in Keras too), and the
/// species.
fn iris3() -> Res<(Tensor, Vec<usize>)> {
    let (x, y) = load_sklearn_csv(&find_dataset("sklearn-small")?.join("iris.csv"))?;
    let x = x.narrow(1, 0, 3);
    let lo = x.min(&[0], true);
    let x = x.sub(&lo).div(&x.max(&[0], true).sub(&lo));
    let x = x.sub(&x.mean(&[0], true));
    Ok((x, y.to_vec_f32().iter().map(|&c| c as usize).collect()))
}

fn mse(a: &Tensor, b: &Tensor) -> f64 {
    a.sub(b).square().mean_all().item()
}

/// The eigenvectors of a symmetric matrix (cyclic Jacobi rotations), as columns, with their
/// eigenvalues, largest first.
fn eigen_symmetric(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _sweep in 0..50 {
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-15 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j][j].total_cmp(&a[i][i]));
    (order.iter().map(|&i| a[i][i]).collect(), order.iter().map(|&i| v.iter().map(|r| r[i]).collect()).collect())
}

/// The mean squared error of PCA's reconstruction from `k` components.
fn pca_error(x: &Tensor, k: usize) -> f64 {
    let (n, d) = (x.dims()[0], x.dims()[1]);
    let centred = x.sub(&x.mean(&[0], true));
    let c = centred.to_vec_f64();
    let cov: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| (0..n).map(|r| c[r * d + i] * c[r * d + j]).sum::<f64>() / n as f64).collect())
        .collect();
    let (values, _) = eigen_symmetric(cov);
    // The error left is the variance along the dropped directions, per value.
    values[k..].iter().sum::<f64>() / d as f64
}

/// Trains the notes' autoencoder with model seed `seed`; returns its reconstruction error and
/// PCA's, and the 2-D codes.
fn run(seed: u64, epochs: usize, verbose: u8) -> Res<(f64, f64, Tensor, Vec<usize>)> {
    let (x, species) = iris3()?;
    let mut encoder = Sequential::new();
    encoder.seed(seed).set_name("encoder").input(&[3]).add(Dense::new(2));
    let mut decoder = Sequential::new();
    decoder.seed(seed + 1000).set_name("decoder").input(&[2]).add(Dense::new(3));
    let mut autoencoder = Sequential::new();
    autoencoder.add_model(encoder).add_model(decoder);
    autoencoder.compile(Optimizer::sgd(1.5), "mse", &[])?;
    if verbose > 0 {
        println!("{}", autoencoder.summary()?);
    }
    autoencoder.fit(&x, &x, Fit::new().epochs(epochs).verbose(verbose))?;
    let codings = autoencoder.submodel_mut("encoder")?.predict(&x, 256)?;
    let error = mse(&autoencoder.predict(&x, 256)?, &x);
    Ok((error, pca_error(&x, 2), codings, species))
}

/// Trains with seeds 1..=`seeds`; returns the autoencoder-to-PCA error ratio of each seed
/// (`None` where SGD at 1.5 diverged).
fn ratios(seeds: u64) -> Res<Vec<Option<f64>>> {
    (1..=seeds)
        .map(|seed| {
            let (error, pca, _, _) = run(seed, EPOCHS, 0)?;
            Ok(error.is_finite().then_some(error / pca))
        })
        .collect()
}

fn main() -> Res<()> {
    let (error, pca, codes, species) = run(1, EPOCHS, 1)?;
    println!("reconstruction MSE: autoencoder {error:.5}, PCA with 2 components {pca:.5} ({:.2}x)", error / pca);
    let r = ratios(10)?;
    let ok: Vec<f64> = r.iter().flatten().copied().collect();
    println!(
        "seeds 1-10: {} of 10 converge, error {:.2}x-{:.2}x PCA's; the others diverge (SGD at 1.5)",
        ok.len(),
        ok.iter().copied().fold(f64::INFINITY, f64::min),
        ok.iter().copied().fold(0.0, f64::max)
    );
    let dir = std::env::temp_dir().join("sinew-examples").join("autoencoder_iris");
    std::fs::create_dir_all(&dir)?;
    let c = codes.to_vec_f64();
    let groups = SPECIES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let rows: Vec<usize> = (0..species.len()).filter(|&i| species[i] == k).collect();
            let (x, y) = (rows.iter().map(|&i| c[2 * i]).collect(), rows.iter().map(|&i| c[2 * i + 1]).collect());
            Series { name: name.to_string(), x, y }
        })
        .collect();
    let plot = Plot::scatter_groups("Iris coded in 2-D by the encoder", groups).x_label("code 1").y_label("code 2");
    save_plot(&plot, dir.join("codes.png"))?;
    println!("codes plotted in {}", dir.join("codes.png").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_linear_autoencoder_reconstructs_about_as_well_as_pca() {
        let r = super::ratios(10).expect("iris.csv must be in ../shared/data/sklearn-small");
        let ok: Vec<f64> = r.iter().flatten().copied().collect();
        assert!(ok.len() >= 8, "SGD at 1.5 diverged for more than 2 of 10 seeds: {r:?}");
        assert!(ok.iter().all(|&x| x <= 1.3), "error ratios to PCA's: {r:?}");
    }

    #[test]
    fn pca_error_matches_a_known_spectrum() {
        // Points on a line (one direction of variance): two components leave nothing.
        let x = sinew::prelude::Tensor::from_vec(
            (0..10).map(|i| [i as f32, 2.0 * i as f32, 0.5]).flatten().collect(),
            [10, 3],
        );
        assert!(super::pca_error(&x, 1) < 1e-9);
        let (values, vectors) =
            super::eigen_symmetric(vec![vec![2.0, 1.0, 0.0], vec![1.0, 2.0, 0.0], vec![0.0, 0.0, 5.0]]);
        assert!((values[0] - 5.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12 && (values[2] - 1.0).abs() < 1e-12);
        assert!((vectors[1][0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
    }
}
