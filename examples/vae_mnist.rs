//! A variational autoencoder on MNIST, the dense model of the Keras VAE examples and of the
//! `b8_vae_step` benchmark: 784 -> 512 relu -> (z_mean, z_log_var) in 2-D -> `Sampling` ->
//! 512 relu -> 784 sigmoid, Adam. The encoder (a functional model with three outputs) and the
//! decoder (a Sequential model) are models of their own, composed into the VAE; afterwards the
//! encoder alone maps the test digits into the plane and the decoder alone draws digits from a
//! grid of codes.
//!
//! The loss is the negative ELBO per sample, in nats: the reconstruction's binary
//! cross-entropy summed over the 784 pixels (the per-pixel mean, weighted by 784) plus the KL
//! term, which the `Sampling` layer adds to the loss (`kl_weight = 1`, Keras' `add_loss`).
//!
//! Measured 2026-12-07 on the project's 2-core AMD EPYC: after 30 epochs (about 2.5 s each) the
//! test negative ELBO is 151.22 nats (training loss 149.05). The same model, loss and batch in
//! Keras 3.15 on TensorFlow (`scripts/keras_vae_mnist.py`, 4-5 s per epoch) reached 151.14 on
//! the test set (training 148.44). The keras.io VAE example's figure of about 147 is for its
//! convolutional model with a training loss, so it is not the comparison here.
//!
//! Data: `../shared/data/mnist`. Run: `cargo run --release --example vae_mnist [EPOCHS]`
//! (writes `latent.png` and `decoded.png` under `$TMPDIR/sinew-examples/vae_mnist`).

use sinew::data::{find_dataset, load_mnist};
use sinew::prelude::*;
use sinew::report::{save_image_grid, save_plot, Plot, Series};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const EPOCHS: usize = 30;
const LATENT: usize = 2;

/// The VAE: the encoder and the decoder as models, composed.
fn build(seed: u64) -> Res<Model> {
    let mut g = Functional::new().seed(seed);
    let x = g.input(&[784]);
    let h = g.call(Dense::new(512).activation(Activation::Relu), x)?;
    let z_mean = g.call(Dense::new(LATENT).name("z_mean"), h)?;
    let z_log_var = g.call(Dense::new(LATENT).name("z_log_var"), h)?;
    let z = g.call(Sampling::new().kl_weight(1.0), [z_mean, z_log_var])?;
    let mut encoder = g.model([x], [z_mean, z_log_var, z])?;
    encoder.set_name("encoder");

    let mut decoder = Sequential::new();
    decoder.seed(seed + 1).set_name("decoder").input(&[LATENT]);
    decoder.add(Dense::new(512).activation(Activation::Relu));
    decoder.add(Dense::new(784).activation(Activation::Sigmoid));

    let mut g = Functional::new().seed(seed + 2);
    let x = g.input(&[784]);
    let codes = g.call_outputs(encoder, x)?;
    let reconstruction = g.call(decoder, codes[2])?;
    let mut vae = g.model([x], [reconstruction])?;
    vae.set_name("vae");
    vae.compile(Optimizer::adam(0.001), "binary_crossentropy", &[])?;
    // The per-pixel mean times 784 is the sum over the pixels.
    vae.set_loss_weights(&[784.0])?;
    Ok(vae)
}

struct Outcome {
    /// The test loss: the negative ELBO per sample, in nats.
    test_nelbo: f64,
    codes: Tensor,
    labels: Vec<usize>,
    decoded: Vec<f32>,
}

fn run(train: usize, epochs: usize, verbose: u8) -> Res<Outcome> {
    let mnist = load_mnist(&find_dataset("mnist")?)?;
    let x_train = mnist.x_train.narrow(0, 0, train).reshape([train, 784]).mul_scalar(1.0 / 255.0);
    let x_test = mnist.x_test.reshape([10000, 784]).mul_scalar(1.0 / 255.0);
    let mut vae = build(1)?;
    if verbose > 0 {
        println!("{}", vae.summary()?);
    }
    vae.fit(&x_train, &x_train, Fit::new().epochs(epochs).batch_size(128).verbose(verbose))?;
    let test_nelbo = vae.evaluate(&x_test, &x_test, 1000)?.get("loss").unwrap();
    let encoder = vae.submodel_mut("encoder")?;
    let codes = encoder.predict_outputs(&x_test, 1000)?.remove(0);
    // Decoded digits from a 10x10 grid of codes over [-2, 2]^2 (the prior's bulk).
    let side = 10;
    let grid: Vec<f32> = (0..side * side)
        .flat_map(|k| [(k % side) as f32, (side - 1 - k / side) as f32])
        .map(|v| -2.0 + 4.0 * v / (side - 1) as f32)
        .collect();
    let decoded = vae.submodel_mut("decoder")?.predict(&Tensor::from_vec(grid, [side * side, LATENT]), 100)?;
    let labels = mnist.y_test.to_vec_f32().iter().map(|&c| c as usize).collect();
    Ok(Outcome { test_nelbo, codes, labels, decoded: decoded.to_vec_f32() })
}

fn main() -> Res<()> {
    let epochs = std::env::args().nth(1).map_or(Ok(EPOCHS), |a| a.parse())?;
    let o = run(60000, epochs, 1)?;
    println!("test loss (negative ELBO per sample): {:.2} nats", o.test_nelbo);
    let dir = std::env::temp_dir().join("sinew-examples").join("vae_mnist");
    std::fs::create_dir_all(&dir)?;
    let c = o.codes.to_vec_f64();
    let groups = (0..10)
        .map(|d| {
            let rows: Vec<usize> = (0..o.labels.len()).filter(|&i| o.labels[i] == d).collect();
            let (x, y) = (rows.iter().map(|&i| c[2 * i]).collect(), rows.iter().map(|&i| c[2 * i + 1]).collect());
            Series { name: d.to_string(), x, y }
        })
        .collect();
    let plot = Plot::scatter_groups("Test digits in the VAE's latent space (z_mean)", groups)
        .x_label("z[0]")
        .y_label("z[1]")
        .size(760.0, 620.0);
    save_plot(&plot, dir.join("latent.png"))?;
    save_image_grid(
        dir.join("decoded.png"),
        &o.decoded,
        100,
        (28, 28),
        10,
        "decoded from a grid of codes over [-2, 2]^2",
    )?;
    println!("latent plot and decoded grid in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_vae_run_reaches_its_loss() {
        let o = super::run(20000, 3, 0).expect("MNIST must be present in ../shared/data/mnist");
        println!("test negative ELBO {:.2}", o.test_nelbo);
        assert_eq!(o.codes.dims(), &[10000, 2]);
        assert!(o.test_nelbo < 175.0, "test negative ELBO {:.2} nats", o.test_nelbo);
    }
}
