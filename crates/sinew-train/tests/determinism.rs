//! Issue 18, determinism: two seeded fits give bit-identical weights, metrics and predictions
//! on this machine, with the engine's two threads, shuffling, dropout, a prefetched dataset and
//! data-parallel predict: a CNN, an LSTM and a GAN's two-model loop.

use sinew_data::Dataset;
use sinew_nn::{Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, LSTM};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::*;

fn bits(ts: &[Tensor]) -> Vec<Vec<u32>> {
    ts.iter().map(|t| t.to_vec_f32().iter().map(|v| v.to_bits()).collect()).collect()
}

/// Weights, per-epoch losses and predictions of one run, as bits.
type Run = (Vec<Vec<u32>>, Vec<u64>, Vec<u32>);

fn cnn_run() -> Run {
    let mut rng = Rng::seed(1);
    let x = Tensor::rand_uniform([256, 12, 12, 1], 0.0, 1.0, &mut rng);
    let y = Tensor::from_vec((0..256).map(|_| rng.below(3) as f32).collect(), [256]);
    let mut m = Sequential::new();
    m.seed(7).input(&[12, 12, 1]);
    m.add(Conv2D::new(8, &[3]).activation(Activation::Relu)).add(MaxPooling2D::new());
    // 80,000 weights in this layer: over the 65,536 at which steps run on the pool and predict
    // runs its sub-batches data-parallel.
    m.add(Flatten::new()).add(Dense::new(400).activation(Activation::Relu)).add(Dropout::new(0.3));
    m.add(Dense::new(3).activation(Activation::Softmax));
    m.compile(Optimizer::adam(0.01), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    // A prefetched, shuffled pipeline feeds it (the prefetch runs on its own thread).
    let ds = Dataset::from_tensor_slices(&[x.clone()], &[y]).unwrap().shuffle(100, 3).batch(32, false).prefetch(2);
    let h = m.fit_dataset(&ds, Fit::new().epochs(3).verbose(0)).unwrap();
    let losses = h.get("loss").unwrap().iter().map(|v| v.to_bits()).collect();
    // 256 images predict in sub-batches of 64, spread over both threads.
    let p = m.predict(&x, 256).unwrap().to_vec_f32().iter().map(|v| v.to_bits()).collect();
    (bits(&m.get_weights()), losses, p)
}

fn lstm_run() -> Run {
    let mut rng = Rng::seed(2);
    let x = Tensor::rand_normal([128, 10, 3], 0.0, 1.0, &mut rng);
    let y = x.sum(&[1, 2], false).reshape([128, 1]);
    let mut m = Sequential::new();
    m.seed(8).input(&[10, 3]);
    m.add(LSTM::new(16).dropout(0.2).recurrent_dropout(0.2)).add(Dense::new(1));
    m.compile(Optimizer::rmsprop(0.01), "mse", &[]).unwrap();
    let h = m.fit(&x, &y, Fit::new().epochs(3).batch_size(16).verbose(0)).unwrap();
    let losses = h.get("loss").unwrap().iter().map(|v| v.to_bits()).collect();
    let p = m.predict(&x, 64).unwrap().to_vec_f32().iter().map(|v| v.to_bits()).collect();
    (bits(&m.get_weights()), losses, p)
}

fn gan_run() -> Run {
    let mut g = Sequential::new();
    g.seed(9).set_name("generator").input(&[4]);
    g.add(Dense::new(16).activation(Activation::Relu)).add(Dense::new(8).activation(Activation::Tanh));
    let mut d = Sequential::new();
    d.seed(10).set_name("discriminator").input(&[8]);
    d.add(Dense::new(16).activation(Activation::LeakyRelu(0.2))).add(Dropout::new(0.3));
    d.add(Dense::new(1).activation(Activation::Sigmoid));
    d.compile(Optimizer::adam(0.001), "binary_crossentropy", &[]).unwrap();
    d.set_trainable(false);
    let mut gan = Sequential::new();
    gan.add_model(g).add_model(d);
    gan.compile(Optimizer::adam(0.001), "binary_crossentropy", &[]).unwrap();
    let mut rng = Rng::seed(11);
    let mut losses = vec![];
    for _ in 0..20 {
        let noise = Tensor::rand_normal([16, 4], 0.0, 1.0, &mut rng);
        let fake = gan.submodel_mut("generator").unwrap().predict(&noise, 16).unwrap();
        let real = Tensor::rand_uniform([16, 8], -1.0, 1.0, &mut rng);
        let y1 = Tensor::concat(&[&Tensor::zeros([16, 1]), &Tensor::ones([16, 1])], 0);
        let disc = gan.submodel_mut("discriminator").unwrap();
        disc.set_trainable(true);
        losses.push(disc.train_on_batch(&Tensor::concat(&[&fake, &real], 0), &y1).unwrap().get("loss").unwrap());
        disc.set_trainable(false);
        losses.push(gan.train_on_batch(&noise, &Tensor::ones([16, 1])).unwrap().get("loss").unwrap());
    }
    let noise = Tensor::rand_normal([32, 4], 0.0, 1.0, &mut rng);
    let p = gan.predict(&noise, 32).unwrap().to_vec_f32().iter().map(|v| v.to_bits()).collect();
    (bits(&gan.get_weights()), losses.iter().map(|v| v.to_bits()).collect(), p)
}

#[test]
fn two_seeded_runs_are_bit_identical() {
    for (name, run) in [("cnn", cnn_run as fn() -> Run), ("lstm", lstm_run), ("gan", gan_run)] {
        let (a, b) = (run(), run());
        assert_eq!(a.1, b.1, "{name}: the losses differ");
        assert_eq!(a.0, b.0, "{name}: the weights differ");
        assert_eq!(a.2, b.2, "{name}: the predictions differ");
    }
}
