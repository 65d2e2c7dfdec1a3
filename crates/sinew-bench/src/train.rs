//! Whole training steps on the workloads the issues name, matching
//! `../shared/bench/peers/bench_torch.py` (same shapes, seeded synthetic data, one fixed batch
//! stepped repeatedly, 3 warm-up steps, median of 3 timed blocks).

use crate::timing::{emit, roofline, time_it, Timing};
use sinew_nn::{
    Activation, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, Embedding, Flatten, Loss, MaxPooling2D,
    Padding, Reshape, Sampling, SparseCategoricalCrossentropy, GRU, LSTM,
};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::{Functional, Sequential};

/// A training workload's record: milliseconds a step and its roofline.
fn step(json: bool, name: &str, t: &Timing) {
    let mut fields = vec![("ms_per_step", t.median_ms)];
    fields.extend(roofline(t));
    emit(json, name, &fields);
}

fn dense(units: usize, act: Activation) -> Dense {
    Dense::new(units).activation(act)
}

/// b1_tabular_mlp: 78→78→39→19→1 with Dropout 0.2, BCE, Adam, batch 256.
fn b1(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_normal([256, 78], 0.0, 1.0, rng);
    let y = Tensor::bernoulli([256, 1], 0.5, rng);
    let mut m = Sequential::new();
    m.input(&[78]);
    m.add(dense(78, Activation::Relu)).add(Dropout::new(0.2));
    m.add(dense(39, Activation::Relu)).add(Dropout::new(0.2));
    m.add(dense(19, Activation::Relu)).add(dense(1, Activation::Sigmoid));
    m.compile(Optimizer::adam(1e-3), "binary_crossentropy", &[]).expect("b1 compiles");
    let t = time_it(|| drop(m.train_on_batch(&x, &y).unwrap()), 500, 3, 3);
    step(json, "b1_tabular_mlp", &t);
}

/// b5_dense_autoencoder: 784→400→200→100→50→25→50→100→200→400→784, relu then sigmoid, BCE,
/// SGD lr 1.5, batch 32.
fn b5(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_uniform([32, 784], 0.0, 1.0, rng);
    let dims = [400, 200, 100, 50, 25, 50, 100, 200, 400];
    let mut m = Sequential::new();
    m.input(&[784]);
    for d in dims {
        m.add(dense(d, Activation::Relu));
    }
    m.add(dense(784, Activation::Sigmoid));
    m.compile(Optimizer::sgd(1.5), "binary_crossentropy", &[]).expect("b5 compiles");
    let t = time_it(|| drop(m.train_on_batch(&x, &x).unwrap()), 300, 3, 3);
    step(json, "b5_dense_autoencoder", &t);
}

/// The notes' MNIST CNN: Conv2D(32, 4x4, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu)
/// -> Dense(10, softmax), sparse categorical cross-entropy (fused with the softmax, as PyTorch's
/// CrossEntropyLoss on logits), Adam.
fn mnist_cnn() -> Sequential {
    let mut m = Sequential::new();
    m.input(&[28, 28, 1]);
    m.add(Conv2D::new(32, &[4]).activation(Activation::Relu));
    m.add(MaxPooling2D::new());
    m.add(Flatten::new());
    m.add(dense(128, Activation::Relu));
    m.add(dense(10, Activation::Softmax));
    m.compile(Optimizer::adam(1e-3), "sparse_categorical_crossentropy", &[]).expect("mnist_cnn compiles");
    m
}

/// b2_mnist_cnn_b32 / _b128: training steps of [`mnist_cnn`] at batch 32 and 128.
fn b2(json: bool, rng: &mut Rng, batch: usize) {
    let x = Tensor::rand_uniform([batch, 28, 28, 1], 0.0, 1.0, rng);
    let y = Tensor::from_vec((0..batch).map(|_| rng.below(10) as f32).collect(), [batch]);
    let mut m = mnist_cnn();
    let n = if batch == 32 { 200 } else { 60 };
    let t = time_it(|| drop(m.train_on_batch(&x, &y).unwrap()), n, 3, 3);
    step(json, &format!("b2_mnist_cnn_b{batch}"), &t);
}

/// b6_cnn_predict: [`mnist_cnn`] inference on a batch of 1024 images, in images per second.
fn b6(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_uniform([1024, 28, 28, 1], 0.0, 1.0, rng);
    let mut m = mnist_cnn();
    let t = time_it(|| drop(m.predict_on_batch(&x).unwrap()), 20, 3, 3);
    let mut fields = vec![("images_per_s", 1024.0 * 1000.0 / t.median_ms), ("ms_per_batch", t.median_ms)];
    fields.extend(roofline(&t));
    emit(json, "b6_cnn_predict", &fields);
}

/// b3_lstm_timeseries: LSTM(100) over 12 steps of 1 feature -> Dense(1), MSE, Adam, batch 1;
/// 300 different samples stepped in turn, as the peers do.
fn b3(json: bool, rng: &mut Rng) {
    let xs: Vec<Tensor> = (0..300).map(|_| Tensor::rand_uniform([1, 12, 1], 0.0, 1.0, rng)).collect();
    let ys: Vec<Tensor> = (0..300).map(|_| Tensor::rand_uniform([1, 1], 0.0, 1.0, rng)).collect();
    let mut m = Sequential::new();
    m.input(&[12, 1]);
    m.add(LSTM::new(100)).add(Dense::new(1));
    m.compile(Optimizer::adam(1e-3), "mse", &[]).expect("b3 compiles");
    let mut k = 0;
    let t = time_it(
        || {
            drop(m.train_on_batch(&xs[k % 300], &ys[k % 300]).unwrap());
            k += 1;
        },
        300,
        3,
        3,
    );
    step(json, "b3_lstm_timeseries", &t);
}

/// b4_char_gru_{units}: Embedding(84, 64) -> GRU(units, return_sequences) -> Dense(84) logits,
/// sparse categorical cross-entropy from logits, Adam, batch 64, sequences of 100.
fn b4(json: bool, rng: &mut Rng, units: usize) {
    let ids = |rng: &mut Rng| Tensor::from_vec((0..64 * 100).map(|_| rng.below(84) as f32).collect(), [64, 100]);
    let (x, y) = (ids(rng), ids(rng));
    let mut m = Sequential::new();
    m.input(&[100]);
    m.add(Embedding::new(84, 64)).add(GRU::new(units).return_sequences(true)).add(Dense::new(84));
    let loss: Box<dyn Loss> = Box::new(SparseCategoricalCrossentropy { from_logits: true });
    m.compile(Optimizer::adam(1e-3), loss, &[]).expect("b4 compiles");
    let n = if units == 1024 { 5 } else { 15 };
    let t = time_it(|| drop(m.train_on_batch(&x, &y).unwrap()), n, 3, 3);
    step(json, &format!("b4_char_gru_{units}"), &t);
}

/// b7_dcgan_step: the notes' DCGAN step on 28x28 (see the peers' README): the discriminator
/// trained on 64 generated and 64 real images, then the generator through the frozen
/// discriminator on 64 noise vectors labelled real. Adam, BCE. As in Keras, the generated
/// images of the first phase come from the generator in inference mode.
fn b7(json: bool, rng: &mut Rng) {
    let mut generator = Sequential::new();
    generator.set_name("generator").input(&[100]);
    generator.add(Dense::new(7 * 7 * 128)).add(Reshape::new(&[7, 7, 128])).add(BatchNormalization::new());
    let up =
        |f: usize, act: Activation| Conv2DTranspose::new(f, &[5]).strides(&[2]).padding(Padding::Same).activation(act);
    generator.add(up(64, Activation::Relu)).add(BatchNormalization::new()).add(up(1, Activation::Tanh));
    let mut discriminator = Sequential::new();
    discriminator.set_name("discriminator").input(&[28, 28, 1]);
    let down =
        |f: usize| Conv2D::new(f, &[5]).strides(&[2]).padding(Padding::Same).activation(Activation::LeakyRelu(0.2));
    discriminator.add(down(64)).add(Dropout::new(0.4)).add(down(128)).add(Dropout::new(0.4));
    discriminator.add(Flatten::new()).add(dense(1, Activation::Sigmoid));
    discriminator.compile(Optimizer::adam(1e-3), "binary_crossentropy", &[]).expect("b7 discriminator compiles");
    discriminator.set_trainable(false);
    let mut gan = Sequential::new();
    gan.add_model(generator).add_model(discriminator);
    gan.compile(Optimizer::adam(1e-3), "binary_crossentropy", &[]).expect("b7 gan compiles");
    let real = Tensor::rand_uniform([64, 28, 28, 1], -1.0, 1.0, rng);
    let y_d = Tensor::concat(&[&Tensor::zeros([64, 1]), &Tensor::ones([64, 1])], 0);
    let y_g = Tensor::ones([64, 1]);
    let mut noise_rng = Rng::seed(1);
    let t = time_it(
        || {
            let noise = Tensor::rand_normal([64, 100], 0.0, 1.0, &mut noise_rng);
            let fake = gan.submodel_mut("generator").unwrap().predict_on_batch(&noise).unwrap();
            let d = gan.submodel_mut("discriminator").unwrap();
            d.set_trainable(true);
            drop(d.train_on_batch(&Tensor::concat(&[&fake, &real], 0), &y_d).unwrap());
            d.set_trainable(false);
            let noise = Tensor::rand_normal([64, 100], 0.0, 1.0, &mut noise_rng);
            drop(gan.train_on_batch(&noise, &y_g).unwrap());
        },
        10,
        3,
        3,
    );
    step(json, "b7_dcgan_step", &t);
}

/// b8_vae_step: the dense VAE 784 -> 512 relu -> (z_mean, z_log_var) 2 -> `Sampling` -> 512
/// relu -> 784 sigmoid, the reconstruction BCE summed over the pixels (the mean, weighted by
/// 784) plus the KL term the `Sampling` layer adds; Adam, batch 128. The encoder and the
/// decoder are models inside the VAE, as in `examples/vae_mnist.rs`.
fn b8(json: bool, rng: &mut Rng) {
    let mut g = Functional::new();
    let x = g.input(&[784]);
    let h = g.call(dense(512, Activation::Relu), x).expect("b8 builds");
    let (mean, log_var) = (g.call(Dense::new(2), h).expect("b8 builds"), g.call(Dense::new(2), h).expect("b8 builds"));
    let z = g.call(Sampling::new().kl_weight(1.0), [mean, log_var]).expect("b8 builds");
    let mut encoder = g.model([x], [mean, log_var, z]).expect("b8 builds");
    encoder.set_name("encoder");
    let mut decoder = Sequential::new();
    decoder.set_name("decoder").input(&[2]);
    decoder.add(dense(512, Activation::Relu)).add(dense(784, Activation::Sigmoid));
    let mut g = Functional::new();
    let x = g.input(&[784]);
    let codes = g.call_outputs(encoder, x).expect("b8 builds");
    let out = g.call(decoder, codes[2]).expect("b8 builds");
    let mut vae = g.model([x], [out]).expect("b8 builds");
    vae.compile(Optimizer::adam(1e-3), "binary_crossentropy", &[]).expect("b8 compiles");
    vae.set_loss_weights(&[784.0]).expect("one output");
    let x = Tensor::rand_uniform([128, 784], 0.0, 1.0, rng);
    let t = time_it(|| drop(vae.train_on_batch(&x, &x).unwrap()), 200, 3, 3);
    step(json, "b8_vae_step", &t);
}

/// b9_word2vec: one skip-gram epoch over tiny Shakespeare with gensim's settings (100
/// dimensions, window 5, `min_count` 5, 5 negatives, 2 workers; the peers' `bench_classic.py
/// b9`), in corpus words per second. The vocabulary is built once, outside the timing, as
/// gensim's `build_vocab` is.
fn b9(json: bool) {
    let dir = sinew_data::find_dataset("tinyshakespeare").expect("b9 needs ../shared/data/tinyshakespeare");
    let text = std::fs::read_to_string(dir.join("input.txt")).expect("b9 reads tiny Shakespeare");
    let sentences = sinew_classic::simple_words(&text);
    let opts = sinew_classic::Word2VecOptions::new()
        .architecture(sinew_classic::Architecture::SkipGram)
        .epochs(1)
        .workers(2)
        .seed(0);
    let mut model = sinew_classic::Word2Vec::build(&sentences, opts).expect("b9 builds");
    let words: usize = sentences.iter().map(Vec::len).sum();
    let t = time_it(|| _ = model.train(&sentences).expect("b9 trains"), 1, 3, 1);
    emit(
        json,
        "b9_word2vec",
        &[
            ("words_per_s", words as f64 * 1e3 / t.median_ms),
            ("s_per_epoch", t.median_ms / 1e3),
            ("words", words as f64),
        ],
    );
}

/// b10_rbm_cd1: a 784 -> 256 Bernoulli RBM, batch 64, persistent CD-1 with scikit-learn's
/// update (learning rate 0.05), over 200 batches of binary data with 20% ones (the peers'
/// `bench_classic.py b10`, `BernoulliRBM.partial_fit` per batch), in ms per batch.
fn b10(json: bool, rng: &mut Rng) {
    let x = Tensor::bernoulli([64 * 200, 784], 0.2, rng);
    let batches: Vec<Tensor> = (0..200).map(|i| x.narrow(0, 64 * i, 64)).collect();
    let opts = sinew_classic::RbmOptions::new().hidden(256).learning_rate(0.05).batch_size(64).gibbs_steps(1, true);
    let mut rbm = sinew_classic::Rbm::new(784, opts).expect("b10 builds");
    let mut i = 0;
    let t = time_it(
        || {
            rbm.partial_fit(&batches[i % batches.len()]).expect("b10 trains");
            i += 1;
        },
        200,
        3,
        20,
    );
    step(json, "b10_rbm_cd1", &t);
}

/// b11_som: a 20x20 self-organizing map over 784-dimensional inputs, sigma 3, learning rate
/// 0.5, 5,000 single-sample updates in random order from 10,000 uniform samples (the peers'
/// `bench_classic.py b11`, MiniSom's `train_random`), in samples per second.
fn b11(json: bool, rng: &mut Rng) {
    let x = Tensor::rand_uniform([10_000, 784], 0.0, 1.0, rng).to_dtype(sinew_tensor::DType::F64);
    let opts = sinew_classic::SomOptions::new().sigma(3.0).learning_rate(0.5).seed(0);
    let mut som = sinew_classic::Som::new(20, 20, 784, opts).expect("b11 builds");
    som.random_weights_init(&x).expect("b11 initialises");
    let n = 5_000;
    let t = time_it(|| som.train(&x, n, true).expect("b11 trains"), 1, 3, 1);
    emit(
        json,
        "b11_som",
        &[("samples_per_s", n as f64 * 1e3 / t.median_ms), ("ms_per_sample", t.median_ms / n as f64)],
    );
}

/// Runs the workloads whose names start with one of `only` (all when empty).
pub fn run(json: bool, only: &[&str]) {
    crate::timing::emit_machine(json);
    let mut rng = Rng::seed(0);
    let want = |n: &str| only.is_empty() || only.iter().any(|o| n.starts_with(o));
    if want("b1") {
        b1(json, &mut rng);
    }
    if want("b5") {
        b5(json, &mut rng);
    }
    if want("b2_mnist_cnn_b32") {
        b2(json, &mut rng, 32);
    }
    if want("b2_mnist_cnn_b128") {
        b2(json, &mut rng, 128);
    }
    if want("b6") {
        b6(json, &mut rng);
    }
    if want("b3") {
        b3(json, &mut rng);
    }
    if want("b4_char_gru_256") {
        b4(json, &mut rng, 256);
    }
    if want("b4_char_gru_1024") {
        b4(json, &mut rng, 1024);
    }
    if want("b7") {
        b7(json, &mut rng);
    }
    if want("b8") {
        b8(json, &mut rng);
    }
    if want("b9") {
        b9(json);
    }
    if want("b10") {
        b10(json, &mut rng);
    }
    if want("b11") {
        b11(json, &mut rng);
    }
}
