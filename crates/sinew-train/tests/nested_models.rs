//! Models used as layers: `Sequential([encoder, decoder])`, a GAN's generator and frozen
//! discriminator, a model called in a functional graph, and nested models saved and loaded.

use sinew_nn::{Activation, BatchNormalization, Dense};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::*;

fn weights(m: &Model) -> Vec<Vec<f32>> {
    m.get_weights().iter().map(|t| t.to_vec_f32()).collect()
}

fn data(n: usize, seed: u64) -> Tensor {
    Tensor::rand_uniform([n, 3], 0.0, 1.0, &mut Rng::seed(seed))
}

fn dense_model(name: &str, input: Option<usize>, units: usize, seed: u64) -> Sequential {
    let mut m = Sequential::new();
    m.seed(seed).set_name(name);
    if let Some(i) = input {
        m.input(&[i]);
    }
    m.add(Dense::new(units));
    m
}

/// The notes' autoencoder: `Sequential([encoder, decoder])`, trained as one model; the encoder
/// alone then predicts with the trained weights.
fn autoencoder() -> Sequential {
    let mut ae = Sequential::new();
    ae.add_model(dense_model("encoder", Some(3), 2, 1)).add_model(dense_model("decoder", Some(2), 3, 2));
    ae.compile(Optimizer::sgd(0.5), "mse", &[]).unwrap();
    ae
}

#[test]
fn a_nested_model_trains_inside_and_predicts_alone() {
    let x = data(64, 0);
    let mut ae = autoencoder();
    assert_eq!(ae.layers().len(), 2);
    assert_eq!(ae.count_params(), 8 + 9);
    let before = weights(ae.submodel("encoder").unwrap());
    let h = ae.fit(&x, &x, Fit::new().epochs(30).batch_size(16).verbose(0)).unwrap();
    let losses = h.get("loss").unwrap();
    assert!(losses[29] < 0.5 * losses[0], "the autoencoder did not learn: {losses:?}");
    let enc = ae.submodel_mut("encoder").unwrap();
    assert_ne!(weights(enc), before, "training the outer model left the encoder's weights alone");
    let codes = enc.predict(&x, 32).unwrap();
    assert_eq!(codes.dims(), &[64, 2]);
    let recon = ae.submodel_mut("decoder").unwrap().predict(&codes, 32).unwrap();
    let whole = ae.predict(&x, 32).unwrap();
    assert_eq!(recon.to_vec_f32(), whole.to_vec_f32(), "encoder then decoder differs from the autoencoder");
    let names: Vec<&str> = ae.submodels().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["encoder", "decoder"]);
    let s = ae.summary().unwrap();
    assert!(s.contains("encoder (Sequential)") && s.contains("decoder (Sequential)"), "{s}");
}

#[test]
fn nesting_is_the_same_computation_as_the_flat_model() {
    // One SGD step through the nested model equals one through the same layers in a chain.
    let x = data(16, 3);
    let mut ae = autoencoder();
    let mut flat = Sequential::new();
    flat.input(&[3]).add(Dense::new(2)).add(Dense::new(3));
    flat.compile(Optimizer::sgd(0.5), "mse", &[]).unwrap();
    flat.set_weights(&ae.get_weights()).unwrap();
    let a = ae.train_on_batch(&x, &x).unwrap().get("loss").unwrap();
    let b = flat.train_on_batch(&x, &x).unwrap().get("loss").unwrap();
    assert_eq!(a, b);
    assert_eq!(weights(&ae), weights(&flat));
}

#[test]
fn an_unbuilt_model_is_built_by_the_outer_model_and_shapes_are_checked() {
    let mut outer = Sequential::new();
    outer.input(&[3]).add_model(dense_model("inner", None, 4, 0)).add(Dense::new(1));
    outer.build().unwrap();
    assert_eq!(outer.submodel("inner").unwrap().input_shape(), Some(&[3][..]));
    let mut bad = Sequential::new();
    bad.input(&[5]).add_model(dense_model("inner", Some(3), 4, 0));
    let e = bad.build().unwrap_err().to_string();
    assert!(e.contains("inner") && e.contains("[[3]]") && e.contains("[[5]]"), "{e}");
    let e = outer.submodel("dense").err().expect("dense is not a model").to_string();
    assert!(e.contains("dense") && e.contains("Dense") && e.contains("not a model"), "{e}");
}

fn gan() -> Sequential {
    let mut generator = Sequential::new();
    generator.seed(5).set_name("generator").input(&[2]);
    generator.add(Dense::new(4).activation(Activation::Relu)).add(Dense::new(3));
    let mut discriminator = Sequential::new();
    discriminator.seed(6).set_name("discriminator").input(&[3]);
    discriminator.add(Dense::new(4).activation(Activation::Relu)).add(Dense::new(1).activation(Activation::Sigmoid));
    discriminator.compile(Optimizer::adam(0.01), "binary_crossentropy", &[]).unwrap();
    discriminator.set_trainable(false);
    let mut gan = Sequential::new();
    gan.add_model(generator).add_model(discriminator);
    gan.compile(Optimizer::adam(0.01), "binary_crossentropy", &[]).unwrap();
    gan
}

#[test]
fn a_frozen_discriminator_leaves_the_gan_step_to_the_generator() {
    let mut gan = gan();
    let noise = data(8, 7).narrow(1, 0, 2);
    let ones = Tensor::ones([8, 1]);
    let (g0, d0) = (weights(gan.submodel("generator").unwrap()), weights(gan.submodel("discriminator").unwrap()));
    gan.train_on_batch(&noise, &ones).unwrap();
    assert_ne!(weights(gan.submodel("generator").unwrap()), g0, "the generator did not train");
    assert_eq!(weights(gan.submodel("discriminator").unwrap()), d0, "the frozen discriminator trained");
    let s = gan.summary().unwrap();
    assert!(s.contains("Non-trainable params: 21"), "{s}");
}

#[test]
fn the_notes_gan_loop_trains_each_half_in_turn_and_keeps_the_optimizer_state() {
    // The notes' loop: discriminator.trainable = True; discriminator.train_on_batch(...);
    // discriminator.trainable = False; gan.train_on_batch(...). Toggling the flag keeps the
    // discriminator's Adam moments: its weights follow the same path as a discriminator
    // trained alone on the same batches without any toggling.
    let mut gan = gan();
    let mut alone = gan.submodel("discriminator").unwrap().get_weights();
    let mut reference = Sequential::new();
    reference.input(&[3]);
    reference.add(Dense::new(4).activation(Activation::Relu)).add(Dense::new(1).activation(Activation::Sigmoid));
    reference.compile(Optimizer::adam(0.01), "binary_crossentropy", &[]).unwrap();
    reference.set_weights(&alone).unwrap();
    let mut rng = Rng::seed(8);
    for step in 0..4 {
        let noise = Tensor::rand_normal([4, 2], 0.0, 1.0, &mut rng);
        let real = Tensor::rand_uniform([4, 3], 1.0, 2.0, &mut rng);
        let fake = gan.submodel_mut("generator").unwrap().call(&noise, false).unwrap().detach();
        let x = Tensor::concat(&[&fake, &real], 0);
        let y = Tensor::concat(&[&Tensor::zeros([4, 1]), &Tensor::ones([4, 1])], 0);
        let d = gan.submodel_mut("discriminator").unwrap();
        d.set_trainable(true);
        d.train_on_batch(&x, &y).unwrap();
        reference.train_on_batch(&x, &y).unwrap();
        assert_eq!(weights(gan.submodel("discriminator").unwrap()), weights(&reference), "step {step}");
        gan.submodel_mut("discriminator").unwrap().set_trainable(false);
        alone = gan.submodel("discriminator").unwrap().get_weights();
        gan.train_on_batch(&noise, &Tensor::ones([4, 1])).unwrap();
        let after: Vec<Vec<f32>> =
            gan.submodel("discriminator").unwrap().get_weights().iter().map(|t| t.to_vec_f32()).collect();
        assert_eq!(after, alone.iter().map(|t| t.to_vec_f32()).collect::<Vec<_>>(), "the gan step moved D");
    }
}

#[test]
fn a_frozen_batch_normalization_runs_in_inference_mode() {
    let mut m = Sequential::new();
    m.input(&[3]).add(BatchNormalization::new()).add(Dense::new(1));
    m.compile(Optimizer::sgd(0.1), "mse", &[]).unwrap();
    m.get_layer_mut("batch_normalization").unwrap().set_trainable(false);
    let x = data(16, 9).affine(4.0, 2.0);
    let stats = |m: &Model| weights(m)[..4].to_vec();
    let before = stats(&m);
    let predicted = m.predict(&x, 16).unwrap();
    let trained = m.call(&x, true).unwrap();
    assert_eq!(predicted.to_vec_f32(), trained.to_vec_f32(), "a frozen BN normalised with batch statistics");
    m.train_on_batch(&x, &Tensor::zeros([16, 1])).unwrap();
    assert_eq!(stats(&m), before, "a frozen BN changed its weights or moving statistics");
}

#[test]
fn a_model_called_in_a_functional_graph_shares_its_weights_across_calls() {
    let mut g = Functional::new();
    let a = g.input(&[3]);
    let b = g.input(&[3]);
    let critic = g.shared_model(dense_model("critic", Some(3), 1, 4));
    let sa = g.call(critic, a).unwrap();
    let sb = g.call(critic, b).unwrap();
    let diff = g.call(sinew_nn::Subtract::new(), [sa, sb]).unwrap();
    let mut m = g.model([a, b], [diff]).unwrap();
    assert_eq!(m.count_params(), 4);
    let (xa, xb) = (data(8, 1), data(8, 2));
    let out = m.predict([xa.clone(), xb.clone()], 8).unwrap();
    let critic = m.submodel_mut("critic").unwrap();
    let expected = critic.predict(&xa, 8).unwrap().sub(&critic.predict(&xb, 8).unwrap());
    assert_eq!(out.to_vec_f32(), expected.to_vec_f32());

    let mut g = Functional::new();
    let x = g.input(&[3]);
    let code = g.call(dense_model("encoder", Some(3), 2, 1), x).unwrap();
    let out = g.call(dense_model("decoder", Some(2), 3, 2), code).unwrap();
    let ae = g.model([x], [out]).unwrap();
    assert_eq!(ae.submodels().len(), 2);
}

#[test]
fn nested_models_save_and_load_with_their_weights_flags_and_optimizer_state() {
    let x = data(32, 10);
    let mut gan = gan();
    gan.train_on_batch(&x.narrow(1, 0, 2), &Tensor::ones([32, 1])).unwrap();
    let path = std::env::temp_dir().join(format!("sinew-nested-{}.safetensors", std::process::id()));
    gan.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(weights(&back), weights(&gan));
    assert!(!back.submodel("discriminator").unwrap().trainable());
    assert!(back.submodel("generator").unwrap().trainable());
    let noise = x.narrow(1, 0, 2);
    assert_eq!(back.predict(&noise, 32).unwrap().to_vec_f32(), gan.predict(&noise, 32).unwrap().to_vec_f32());
    // Training resumes identically: the generator's Adam moments came back too.
    gan.train_on_batch(&noise, &Tensor::ones([32, 1])).unwrap();
    back.train_on_batch(&noise, &Tensor::ones([32, 1])).unwrap();
    assert_eq!(weights(&back), weights(&gan));
}
