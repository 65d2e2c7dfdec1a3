//! Layers with several outputs in the functional API: a recurrent layer's `return_state`, its
//! states fed to another as `initial_state` (the encoder-decoder of the notes' many-to-many
//! pattern), `Bidirectional(merge_mode="none")`, and saving such a graph.

use sinew_nn::*;
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::{Functional, Model, Sequential};

fn data(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut Rng::seed(seed))
}

fn max_gap(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    a.to_vec_f32().iter().zip(b.to_vec_f32()).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max)
}

/// `out, h, c = LSTM(6, return_state=True)(x)`, then a decoder LSTM started from `[h, c]`.
fn encoder_decoder() -> Model {
    let mut g = Functional::new().seed(4);
    let x = g.input(&[5, 3]);
    let y = g.input(&[4, 2]);
    let enc = g.call_outputs(LSTM::new(6).return_state(true), x).unwrap();
    assert_eq!(enc.len(), 3, "output, h and c");
    assert_eq!(g.shape(enc[1]), &[6]);
    let dec = g.call(LSTM::new(6).return_sequences(true), [y, enc[1], enc[2]]).unwrap();
    let out = g.call(Dense::new(2), dec).unwrap();
    g.model([x, y], [out, enc[0], enc[1], enc[2]]).unwrap()
}

#[test]
fn return_state_hands_on_the_final_states() {
    let mut m = encoder_decoder();
    let (x, y) = (data(&[3, 5, 3], 1), data(&[3, 4, 2], 2));
    let outs = m.predict_outputs(vec![x.clone(), y.clone()], 8).unwrap();
    assert_eq!(outs[0].dims(), [3, 4, 2]);
    // An LSTM's output without return_sequences is its final h.
    assert_eq!(outs[1].to_vec_f32(), outs[2].to_vec_f32(), "the output and h");
    assert_ne!(outs[2].to_vec_f32(), outs[3].to_vec_f32(), "h and c");
    // Starting the decoder from the encoder's states changes what it computes.
    let mut g = Functional::new().seed(4);
    let yi = g.input(&[4, 2]);
    let dec = g.call(LSTM::new(6).return_sequences(true), yi).unwrap();
    let out = g.call(Dense::new(2), dec).unwrap();
    let mut cold = g.model([yi], [out]).unwrap();
    // The weights in layer order: the encoder's three, the decoder's three, the Dense's two.
    cold.set_weights(&m.get_weights()[3..]).unwrap();
    let y_cold = cold.predict(&y, 8).unwrap();
    assert!(max_gap(&y_cold, &outs[0]) > 1e-3, "the initial states were ignored");

    // Trains through the states: the encoder's weights get gradients from the decoder's loss.
    let mut g = Functional::new().seed(4);
    let x_in = g.input(&[5, 3]);
    let y_in = g.input(&[4, 2]);
    let enc = g.call_outputs(LSTM::new(6).return_state(true), x_in).unwrap();
    let dec = g.call(LSTM::new(6).return_sequences(true), [y_in, enc[1], enc[2]]).unwrap();
    let out = g.call(Dense::new(2), dec).unwrap();
    let mut train = g.model([x_in, y_in], [out]).unwrap();
    train.compile(Optimizer::adam(0.01), "mse", &[]).unwrap();
    let before: Vec<f32> = train.get_weights()[0].to_vec_f32();
    let target = data(&[3, 4, 2], 3);
    let first = train.train_on_batch(vec![x.clone(), y.clone()], target.clone()).unwrap().get("loss").unwrap();
    for _ in 0..30 {
        train.train_on_batch(vec![x.clone(), y.clone()], target.clone()).unwrap();
    }
    let last = train.train_on_batch(vec![x, y], target).unwrap().get("loss").unwrap();
    assert!(last < first, "loss {first} -> {last}");
    assert_ne!(before, train.get_weights()[0].to_vec_f32(), "the encoder's kernel did not train");
}

#[test]
fn a_graph_with_states_saves_and_loads() {
    let mut m = encoder_decoder();
    let (x, y) = (data(&[2, 5, 3], 5), data(&[2, 4, 2], 6));
    let a = m.predict_outputs(vec![x.clone(), y.clone()], 8).unwrap();
    let dir = std::env::temp_dir().join(format!("sinew-states-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.sinew");
    m.save(&path).unwrap();
    let mut back = Model::load(&path).unwrap();
    let b = back.predict_outputs(vec![x, y], 8).unwrap();
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(&b) {
        assert_eq!(p.to_vec_f32(), q.to_vec_f32());
    }
    let summary = back.summary().unwrap();
    assert!(summary.contains("lstm[0][1]"), "the decoder reads the encoder's h:\n{summary}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bidirectional_merge_none_returns_both_directions() {
    let x = data(&[3, 4, 2], 7);
    for return_sequences in [false, true] {
        let rnn = || GRU::new(5).return_sequences(return_sequences);
        let mut g = Functional::new().seed(9);
        let i = g.input(&[4, 2]);
        let outs = g.call_outputs(Bidirectional::new(rnn()).merge_mode("none"), i).unwrap();
        assert_eq!(outs.len(), 2);
        let sum = g.call(Add::new(), [outs[0], outs[1]]).unwrap();
        let mut apart = g.model([i], [sum]).unwrap();
        let mut g = Functional::new().seed(9);
        let i = g.input(&[4, 2]);
        let o = g.call(Bidirectional::new(rnn()).merge_mode("sum"), i).unwrap();
        let mut summed = g.model([i], [o]).unwrap();
        let gap = max_gap(&apart.predict(&x, 8).unwrap(), &summed.predict(&x, 8).unwrap());
        assert!(gap < 1e-6, "return_sequences={return_sequences}: none + Add vs sum differ by {gap}");
    }
    // With return_state: the output, the forward layer's states, the backward layer's.
    let mut g = Functional::new().seed(9);
    let i = g.input(&[4, 2]);
    let outs = g.call_outputs(Bidirectional::new(LSTM::new(5).return_state(true)), i).unwrap();
    assert_eq!(outs.len(), 5);
    assert_eq!(g.shape(outs[0]), &[10]);
    let mut m = g.model([i], outs).unwrap();
    let ys = m.predict_outputs(&x, 8).unwrap();
    let merged = ys[0].to_vec_f32();
    let (fh, bh) = (ys[1].to_vec_f32(), ys[3].to_vec_f32());
    for r in 0..3 {
        assert_eq!(&merged[r * 10..r * 10 + 5], &fh[r * 5..r * 5 + 5], "the forward half is the forward h");
        assert_eq!(&merged[r * 10 + 5..r * 10 + 10], &bh[r * 5..r * 5 + 5], "the backward half is the backward h");
    }
}

#[test]
fn several_outputs_are_refused_where_one_is_expected() {
    let mut g = Functional::new();
    let i = g.input(&[4, 2]);
    let e = g.call(LSTM::new(3).return_state(true), i).unwrap_err().to_string();
    assert!(e.contains("returns 3 tensors") && e.contains("call_outputs"), "{e}");
    let mut m = Sequential::new();
    m.input(&[4, 2]);
    m.add(GRU::new(3).return_state(true));
    let e = m.build().unwrap_err().to_string();
    assert!(e.contains("gru (GRU) returns 2 tensors") && e.contains("functional API"), "{e}");
}

/// The stepping copy (`Model::stepper`: input one step long, recurrent layers stateful, the
/// same weights) fed a sequence one id at a time gives the full model's output at every step;
/// `generate` feeds its samples back and, near temperature 0, picks the likeliest id.
#[test]
fn a_stepper_runs_the_sequence_one_step_at_a_time() {
    let mut m = Sequential::new();
    m.seed(2);
    m.input(&[6]);
    m.add(Embedding::new(7, 4));
    m.add(LSTM::new(5).return_sequences(true));
    m.add(GRU::new(4).return_sequences(true));
    m.add(Dense::new(7).activation(Activation::Softmax));
    let ids = [3usize, 1, 4, 1, 5, 2];
    let x = Tensor::from_vec(ids.iter().map(|&i| i as f32).collect(), [1, 6]);
    let full = m.predict(&x, 1).unwrap().to_vec_f32();
    let mut step = m.stepper().unwrap();
    assert_eq!(step.input_shape(), Some(&[1][..]));
    for round in 0..2 {
        step.reset_states();
        for (t, &id) in ids.iter().enumerate() {
            let y = step.predict_on_batch(&Tensor::from_vec(vec![id as f32], [1, 1])).unwrap().to_vec_f32();
            let gap = y.iter().zip(&full[t * 7..t * 7 + 7]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(gap < 1e-5, "round {round}, step {t}: stepped and full outputs differ by {gap}");
        }
    }
    let a = step.generate(&ids[..2], 20, 0.8, &mut Rng::seed(1)).unwrap();
    let b = step.generate(&ids[..2], 20, 0.8, &mut Rng::seed(1)).unwrap();
    assert_eq!(a, b, "the same seed and rng give the same text");
    assert!(a.len() == 20 && a.iter().all(|&i| i < 7));
    // Near temperature 0 each pick is the argmax of the full model run on what came before.
    let greedy = step.generate(&ids[..1], 5, 1e-9, &mut Rng::seed(3)).unwrap();
    let mut seq = vec![ids[0]];
    seq.extend(&greedy);
    let mut full_model = Sequential::new();
    full_model.seed(2);
    full_model.input(&[6]);
    full_model.add(Embedding::new(7, 4));
    full_model.add(LSTM::new(5).return_sequences(true));
    full_model.add(GRU::new(4).return_sequences(true));
    full_model.add(Dense::new(7).activation(Activation::Softmax));
    full_model.build().unwrap();
    full_model.set_weights(&m.get_weights()).unwrap();
    let p = full_model.predict(&Tensor::from_vec(seq.iter().map(|&i| i as f32).collect(), [1, 6]), 1).unwrap();
    let argmax: Vec<usize> =
        p.to_vec_f32().chunks(7).map(|r| (0..7).max_by(|&i, &j| r[i].total_cmp(&r[j])).unwrap()).collect();
    assert_eq!(&argmax[..5], &greedy[..], "greedy picks follow the model's argmax");
    // Errors: a model that does not step, an empty seed, a bad temperature.
    assert!(m.generate(&ids, 3, 0.5, &mut Rng::seed(0)).unwrap_err().to_string().contains("stepper"));
    assert!(step.generate(&[], 3, 0.5, &mut Rng::seed(0)).is_err());
    assert!(step.generate(&ids, 3, 0.0, &mut Rng::seed(0)).is_err());
}

/// A model whose softmax is a layer of its own hands back probabilities; `generate` samples
/// from their logarithms, so near temperature 0 it still picks the likeliest id. A layer that
/// reads backwards cannot step, and a layer's several outputs get distinct names.
#[test]
fn generation_reads_probabilities_and_refuses_what_cannot_step() {
    let build = |softmax_layer: bool| {
        let mut m = Sequential::new();
        m.seed(5);
        m.input(&[4]);
        m.add(Embedding::new(6, 3));
        m.add(GRU::new(4).return_sequences(true));
        if softmax_layer {
            m.add(Dense::new(6));
            m.add(Softmax::new());
        } else {
            m.add(Dense::new(6).activation(Activation::Softmax));
        }
        m.build().unwrap();
        m
    };
    let (a, mut b) = (build(false), build(true));
    b.set_weights(&a.get_weights()).unwrap();
    let greedy = |m: &Sequential| m.stepper().unwrap().generate(&[1, 2], 6, 1e-9, &mut Rng::seed(4)).unwrap();
    assert_eq!(greedy(&a), greedy(&b), "a Softmax layer samples like a softmax activation");
    // At temperature 1 both sample from the same distribution with the same draws.
    let t1 = |m: &Sequential| m.stepper().unwrap().generate(&[3], 12, 1.0, &mut Rng::seed(8)).unwrap();
    assert_eq!(t1(&a), t1(&b));

    let mut back = Sequential::new();
    back.input(&[4]);
    back.add(Embedding::new(6, 3));
    back.add(LSTM::new(4).return_sequences(true).go_backwards(true));
    back.build().unwrap();
    assert!(back.stepper().err().expect("a backwards layer cannot step").to_string().contains("backwards"));

    let mut g = Functional::new();
    let i = g.input(&[3, 2]);
    let outs = g.call_outputs(LSTM::new(2).return_state(true), i).unwrap();
    let m = g.model([i], outs).unwrap();
    assert_eq!(m.output_names(), ["lstm", "lstm_output_1", "lstm_output_2"]);
}
